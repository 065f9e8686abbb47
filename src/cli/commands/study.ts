// Placeholder until the command is wired to its implementation (the lead replaces this file).
import { defineCommand } from '../command.ts';
import { notWired } from './not-wired.ts';

export default defineCommand({
  name: 'study',
  summary: 'sweep sampler settings (not yet wired)',
  flags: {},
  run: (_flags, ctx) => notWired('study', ctx),
});
