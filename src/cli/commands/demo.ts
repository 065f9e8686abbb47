// Placeholder until the command is wired to its implementation (the lead replaces this file).
import { defineCommand } from '../command.ts';
import { notWired } from './not-wired.ts';

export default defineCommand({
  name: 'demo',
  summary: 'the demo (not yet wired)',
  flags: {},
  run: (_flags, ctx) => notWired('demo', ctx),
});
