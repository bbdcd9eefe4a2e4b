/** Commands whose --json output is one document whether they succeed or fail. */
import type { CommandDef } from '../src/command.js';

/**
 * Wraps a command so that under --json a failure prints an error document on stdout ({ ok: false, error: {…} }) before
 * main() writes the message to stderr and exits with the usual code. Only for commands that print nothing on stdout
 * before they can fail (a command printing its result and then failing a gate would print two documents).
 */
export function withJsonErrors<Options>(def: CommandDef<Options>): CommandDef<Options> {
  return {
    ...def,
    async run(ctx, args, options) {
      try {
        await def.run(ctx, args, options);
      } catch (error) {
        if (ctx.output.json) {
          const { errorDocument } = await import('../src/output/error-document.js');
          const { storeError } = await import('../src/store/errors.js');
          const { redact } = await import('../src/store/location.js');
          // Mapped as main() maps it, so the document and the exit code agree.
          ctx.output.printJson(errorDocument(storeError(error, redact(ctx.config.store)), ctx.signal.aborted));
        }
        throw error;
      }
    },
  };
}
