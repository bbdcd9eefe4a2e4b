/** Confirmation of destructive commands: --yes, else a prompt when a person is there, else a usage error naming --yes. */
import type { Context } from '../src/context.js';

/** Resolves when the action is confirmed; throws UsageError (no TTY, no --yes) or UserError (declined). */
export async function confirmOrYes(ctx: Context, message: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  const { UsageError, UserError } = await import('../src/errors.js');
  if (!ctx.isInteractive)
    throw new UsageError(`${message.replace(/\?$/, '')}: pass --yes to confirm`, {
      hint: 'no terminal to ask on (stdin or stderr is not a TTY, or CI is set)',
    });
  const { confirm } = await import('@inquirer/prompts');
  const { Writable } = await import('node:stream');
  // The prompt ends its output stream when done; a pass-through keeps stderr open for the lines that follow.
  const stderr = ctx.io.stderr;
  const output = Object.assign(new Writable({ write: (chunk: Buffer, encoding, done) => void stderr.write(chunk, encoding, done) }), {
    columns: (stderr as { columns?: number }).columns,
    isTTY: true,
  });
  let ok: boolean;
  try {
    ok = await confirm({ message, default: false }, { input: ctx.io.stdin as NodeJS.ReadableStream, output, signal: ctx.signal });
  } catch (error) {
    // Ctrl-C at the prompt: nothing was done.
    if ((error as Error).name === 'ExitPromptError' || (error as Error).name === 'AbortPromptError') throw new UserError('cancelled: nothing was changed');
    throw error;
  }
  if (!ok) throw new UserError('not confirmed: nothing was changed');
}
