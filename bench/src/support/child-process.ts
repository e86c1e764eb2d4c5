import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import { isInterrupted, onInterrupt } from './interrupt';

/** Root of the repository: every child runs with it as working directory. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** How many output lines of a child are kept for the message of a failure. */
const KEPT_OUTPUT_LINES = 40;
/** How many JSON lines are kept for `waitForLine` calls made after the line was printed. */
const KEPT_JSON_LINES = 20_000;
const STOP_TIMEOUT_MS = 60_000;
/** Time a child gets to exit after SIGTERM when the bench is interrupted, before SIGKILL. */
const INTERRUPT_STOP_TIMEOUT_MS = 5_000;

export interface ChildSettings {
  /** Label in messages. */
  readonly name: string;
  /** TypeScript or JavaScript file, relative to the repository root. */
  readonly script: string;
  /** The child's whole environment besides PATH and HOME, which are passed through. */
  readonly env: Readonly<Record<string, string>>;
  /** Extra Node.js flags, such as `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
  /** Directory to save the child's whole standard output and error in, as `<name>-<pid>.log`. */
  readonly outputDir?: string;
}

/** A structured line a child printed on standard output. */
export type ChildLine = Record<string, unknown>;

/**
 * A TypeScript program running in its own Node.js process, started as
 * `node --import tsx <script>`. The tsx command would run the script in a second Node.js
 * process, so the pid, memory and CPU profile seen here would belong to the wrapper.
 */
export class BenchChild {
  readonly name: string;
  private readonly process: ChildProcess;
  private readonly lastLines: string[] = [];
  private readonly jsonLines: ChildLine[] = [];
  private readonly lineListeners = new Set<(line: ChildLine) => void>();
  private readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private readonly output: fs.WriteStream | undefined;

  private constructor(settings: ChildSettings) {
    // Once a signal has started the clean-up, a path that goes on must not start new children.
    if (isInterrupted()) {
      throw new Error(`not starting ${settings.name}: the bench was interrupted`);
    }
    this.name = settings.name;
    const loaderUrl = pathToFileURL(createRequire(__filename).resolve('tsx')).href;
    // Created before the spawn, so that a directory that cannot be made leaves no child behind.
    if (settings.outputDir) fs.mkdirSync(settings.outputDir, { recursive: true });
    this.process = spawn(
      process.execPath,
      [...(settings.nodeArgs ?? []), '--import', loaderUrl, settings.script],
      {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...settings.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    if (settings.outputDir) {
      const fileName = `${settings.name.replace(/[^A-Za-z0-9]+/g, '-')}-${this.pid}.log`;
      const file = path.join(settings.outputDir, fileName);
      const output = fs.createWriteStream(file);
      // A file that cannot be written costs only the saved output, not the measurement.
      output.on('error', (error) => {
        process.stderr.write(
          `[bench] saving the output of ${this.name} to ${file} failed: ${error.message}\n`,
        );
      });
      // Lines can still arrive after the exit event, so the file closes when both streams end.
      void Promise.all([closed(this.process.stdout!), closed(this.process.stderr!)]).then(() =>
        output.end(),
      );
      this.output = output;
    }
    const removeCleanup = onInterrupt(
      () => this.stop(INTERRUPT_STOP_TIMEOUT_MS),
      () => this.process.kill('SIGKILL'),
    );
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        removeCleanup();
        resolve(this.exitCode);
      });
    });
    this.readLines(this.process.stdout!);
    this.readLines(this.process.stderr!);
  }

  /** Starts the child; it runs until `stop()`. */
  static start(settings: ChildSettings): BenchChild {
    return new BenchChild(settings);
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  /**
   * Resolves with the first JSON line, printed before or after the call, for which `matches`
   * returns true. Rejects when the child exits first or when `timeoutMs` passes, quoting the
   * child's last output lines.
   */
  waitForLine(matches: (line: ChildLine) => boolean, timeoutMs: number): Promise<ChildLine> {
    const earlier = this.jsonLines.find((line) => matches(line));
    if (earlier) return Promise.resolve(earlier);

    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          finish(
            new Error(
              `${this.name} timed out after ${timeoutMs} ms without printing the expected line`,
            ),
          ),
        timeoutMs,
      );
      const onLine = (line: ChildLine) => {
        if (matches(line)) finish(undefined, line);
      };
      const finish = (error: Error | undefined, line?: ChildLine) => {
        clearTimeout(timer);
        this.lineListeners.delete(onLine);
        if (error) reject(this.withOutput(error));
        else resolve(line!);
      };
      this.lineListeners.add(onLine);
      void this.exited.then((code) =>
        finish(new Error(`${this.name} exited with code ${code} before it was ready`)),
      );
    });
  }

  /** Sends SIGTERM and waits for the exit; SIGKILL follows after `killAfterMs`, a minute by default. */
  async stop(killAfterMs = STOP_TIMEOUT_MS): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), killAfterMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Adds the child's last output lines to an error, for a message that shows the cause. */
  withOutput(error: Error): Error {
    const output = this.lastLines.join('\n');
    error.message = `${error.message}\n--- last output of ${this.name} ---\n${output}`;
    return error;
  }

  private readLines(stream: NodeJS.ReadableStream): void {
    const lines = readline.createInterface({ input: stream });
    lines.on('line', (text) => {
      this.output?.write(`${text}\n`);
      this.lastLines.push(text.slice(0, 2000));
      if (this.lastLines.length > KEPT_OUTPUT_LINES) this.lastLines.shift();

      const parsed = parseJsonLine(text);
      if (!parsed) return;
      this.jsonLines.push(parsed);
      if (this.jsonLines.length > KEPT_JSON_LINES) this.jsonLines.shift();
      for (const listener of [...this.lineListeners]) listener(parsed);
    });
  }
}

/** Resolves once `stream` has closed. */
function closed(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => stream.once('close', () => resolve()));
}

function parseJsonLine(text: string): ChildLine | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as ChildLine) : undefined;
  } catch {
    return undefined;
  }
}

/** Prints one JSON line for the parent; used by the child programs. */
export function reportToParent(line: ChildLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
