import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ChildServiceOptions {
  /** Short name for messages, for example `api`. */
  readonly name: string;
  /** Absolute path of the TypeScript entry file. */
  readonly entry: string;
  readonly cwd: string;
  /** The child's whole environment; nothing else is inherited. */
  readonly env: NodeJS.ProcessEnv;
  /** Receives the child's standard output and error, truncated at start. */
  readonly logFile: string;
  /** Node.js flags before the entry, such as those of infra/docker/<service>.node-flags. */
  readonly nodeFlags?: readonly string[];
}

/**
 * One service of the local stack, run as `node <flags> --import tsx <entry>`: the same code that
 * `pnpm api` or `pnpm dispatcher` runs, without the pnpm and tsx command wrappers in between.
 * With no wrapper, the pid is the service's own, so a signal reaches the service's handler
 * exactly once and its exit code is the service's.
 *
 * The child gets its own process group (`detached`), so a terminal's Ctrl-C reaches only the
 * stack process, which then stops the services in order. An IPC channel, watched by
 * `exit-with-parent.mjs`, stops the child when the stack process dies without cleaning up.
 */
export class ChildService {
  readonly name: string;
  readonly logFile: string;
  /** Settles when the process has exited; never rejects. */
  readonly exited: Promise<ChildExit>;
  private readonly child: ChildProcess;
  private exitInfo: ChildExit | undefined;

  private constructor(options: ChildServiceOptions, child: ChildProcess) {
    this.name = options.name;
    this.logFile = options.logFile;
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      child.once('error', () => {
        // spawn failed (for example the node binary vanished): report it as an exit.
        this.exitInfo ??= { code: null, signal: null };
        resolve(this.exitInfo);
      });
    });
  }

  static start(options: ChildServiceOptions): ChildService {
    fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
    const logFd = fs.openSync(options.logFile, 'w');
    const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
    const exitWithParent = pathToFileURL(path.join(__dirname, 'exit-with-parent.mjs')).href;

    const child = spawn(
      process.execPath,
      [
        ...(options.nodeFlags ?? []),
        '--import',
        tsxLoader,
        '--import',
        exitWithParent,
        options.entry,
      ],
      {
        cwd: options.cwd,
        env: options.env,
        stdio: ['ignore', logFd, logFd, 'ipc'],
        detached: true,
      },
    );
    // The child has its own copy of the descriptor.
    fs.closeSync(logFd);
    return new ChildService(options, child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** Resolves with the first IPC message that `accept` returns a value for. */
  waitForMessage<T>(accept: (message: unknown) => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      const onMessage = (message: unknown) => {
        const value = accept(message);
        if (value === undefined) return;
        cleanup();
        resolve(value);
      };
      const onExit = () => {
        cleanup();
        reject(new Error(`${this.name} exited before it was ready; see ${this.logFile}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name} was not ready within ${timeoutMs} ms; see ${this.logFile}`));
      }, timeoutMs);

      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
    });
  }

  /**
   * Sends SIGTERM and waits up to `graceMs` for the service to exit, then sends SIGKILL.
   * Resolves with how the process exited.
   */
  async stop(graceMs: number): Promise<ChildExit & { killed: boolean }> {
    if (this.exitInfo) return { ...this.exitInfo, killed: false };

    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const result = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (result !== 'timeout') return { ...result, killed: false };

    this.kill();
    return { ...(await this.exited), killed: true };
  }

  /** Sends SIGKILL to the service's whole process group. */
  kill(): void {
    if (this.exitInfo || this.child.pid === undefined) return;
    try {
      // The group also contains anything the service started itself, such as child processes.
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      this.signal('SIGKILL');
    }
  }

  /** Reads the last lines of the log file for error messages, each cut at `maxLineChars`. */
  logTail(lineCount: number, maxLineChars = 400): string {
    try {
      const lines = fs.readFileSync(this.logFile, 'utf8').trimEnd().split('\n');
      return lines
        .slice(-lineCount)
        .map((line) => (line.length > maxLineChars ? `${line.slice(0, maxLineChars)}...` : line))
        .join('\n');
    } catch {
      return '';
    }
  }

  private signal(signal: NodeJS.Signals): void {
    if (this.exitInfo) return;
    try {
      this.child.kill(signal);
    } catch {
      // Already gone between the check and the call.
    }
  }
}
