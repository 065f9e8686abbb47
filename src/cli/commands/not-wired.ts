import type { CommandContext } from '../command.ts';

/** What a registered but unimplemented command does: say so and exit 1 (it is not a usage error). */
export function notWired(name: string, ctx: CommandContext): number {
  ctx.io.error(`error: posterior ${name} is not yet wired in this build`);
  return 1;
}
