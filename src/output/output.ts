/** Where a command's results and progress go: stdout for results, stderr for everything else. */
import type { Writable } from 'node:stream';
import { renderCsv, renderTable, type TableData } from './render.js';

export interface Progress {
  /** Updates the text (e.g. "E0_2019-2020.csv 120/380"). */
  update(text: string): void;
  succeed(text: string): void;
  fail(text: string): void;
  stop(): void;
}

export interface OutputOptions {
  stdout: Writable;
  stderr: Writable;
  json: boolean;
  quiet: boolean;
  color: boolean;
  /** Spinners only when stderr is a TTY and not CI, --json or --quiet. */
  spinners: boolean;
}

/** The one place commands write to stdout. */
export class Output {
  constructor(readonly options: OutputOptions) {}

  get json(): boolean {
    return this.options.json;
  }

  /** Prints one JSON document (the --json result). */
  printJson(value: unknown): void {
    this.options.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  printTable(data: TableData): void {
    this.options.stdout.write(`${renderTable(data, { color: this.options.color })}\n`);
  }

  printCsv(data: TableData): void {
    this.options.stdout.write(renderCsv(data));
  }

  /** A line of human text on stdout (suppressed by --quiet). */
  printLine(line: string): void {
    if (!this.options.quiet) this.options.stdout.write(`${line}\n`);
  }

  /** A spinner on stderr, or a no-op where spinners are not wanted. */
  async progress(text: string): Promise<Progress> {
    if (!this.options.spinners) return { update() {}, succeed() {}, fail() {}, stop() {} };
    const { default: ora } = await import('ora');
    // Whether to animate was decided above (TTY, not CI/--json/--quiet); ora must not second-guess it.
    // ora also hooks the stream while spinning, so log lines written meanwhile land above the spinner line.
    const spinner = ora({ text, stream: this.options.stderr as NodeJS.WritableStream, color: 'cyan', isEnabled: true }).start();
    return {
      update: (t) => {
        spinner.text = t;
        // Drawn now: between chunks the event loop may not reach ora's timer while work runs synchronously.
        spinner.render();
      },
      succeed: (t) => void spinner.succeed(t),
      fail: (t) => void spinner.fail(t),
      stop: () => void spinner.stop(),
    };
  }
}
