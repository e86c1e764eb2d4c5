import crypto from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import util from 'node:util';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { LATEST_VERSION, type ResolvedFunction } from '../function-definition';
import type {
  EnvironmentMessage,
  EnvironmentSettings,
  ErrorPayload,
  InvokeMessage,
} from '../runtime/messages';
import { InvocationLog } from './invocation-log';

/** Worker entry file; it registers tsx so handler modules may be TypeScript. */
const BOOTSTRAP_PATH = path.join(__dirname, '..', 'runtime', 'bootstrap.mjs');

/** Lambda's limit for the init phase of an on-demand execution environment: 10 s. */
const INIT_TIMEOUT_MS = 10_000;

/** PATH of Lambda's Node.js runtimes, without the directories that exist only there. */
const RUNTIME_PATH = '/usr/local/bin:/usr/bin:/bin';

export interface InvocationRequest {
  readonly requestId: string;
  readonly eventJson: string;
  /** `$LATEST` or `1`. */
  readonly functionVersion: string;
  readonly invokedFunctionArn: string;
  readonly clientContext: unknown;
}

export type InvocationOutcome =
  | { readonly kind: 'success'; readonly payloadJson: string }
  | { readonly kind: 'function-error'; readonly error: ErrorPayload };

export interface InvocationReport {
  readonly outcome: InvocationOutcome;
  /** Lambda-style log of the invocation: START, handler output, END and REPORT lines. */
  readonly log: InvocationLog;
  readonly durationMs: number;
}

interface RunningInvocation {
  readonly requestId: string;
  readonly log: InvocationLog;
  settle(outcome: InvocationOutcome): void;
}

/**
 * One Lambda execution environment: a worker thread that loads the handler module once and then
 * runs one invocation at a time, staying warm in between. A timed-out invocation terminates the
 * worker, which stops the handler wherever it is; so does a crash. A dead environment never
 * runs another invocation.
 */
export class ExecutionEnvironment {
  readonly id: string;
  private readonly fn: ResolvedFunction;
  private readonly logger: Logger;
  private readonly worker: Worker;
  private readonly initialized: Promise<ErrorPayload | undefined>;
  private readonly exited: Promise<void>;
  private readonly startedAt = performance.now();
  private resolveInitialized: (error: ErrorPayload | undefined) => void = () => undefined;
  /** Set until the first invocation reports it, as Lambda reports init time on cold starts. */
  private initDurationMs: number | undefined;
  private alive = true;
  private running: RunningInvocation | undefined;
  /** Output written while no invocation runs; it opens the next invocation's log. */
  private pendingLog = new InvocationLog();
  private uncaughtError: Error | undefined;

  private constructor(fn: ResolvedFunction, logger: Logger) {
    this.fn = fn;
    this.id = crypto.randomBytes(16).toString('hex');
    this.logger = logger.child({ functionName: fn.name, environmentId: this.id });

    const settings = environmentSettings(fn, this.id);
    this.initialized = new Promise((resolve) => {
      this.resolveInitialized = resolve;
    });
    this.worker = new Worker(BOOTSTRAP_PATH, {
      workerData: settings,
      env: environmentVariables(fn, settings),
      // Flags of the host process (inspector, test runner loaders) stay out of the handler.
      execArgv: [],
      stdout: true,
      stderr: true,
    });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));

    this.worker.on('message', (message: EnvironmentMessage) => this.onMessage(message));
    this.worker.on('error', (error) => this.onUncaughtError(error));
    this.worker.on('exit', (exitCode) => this.onExit(exitCode));
    this.worker.stdout.on('data', (chunk: Buffer) => this.appendLog(chunk.toString()));
    this.worker.stderr.on('data', (chunk: Buffer) => this.appendLog(chunk.toString()));
  }

  /** Starts the worker thread; the handler module loads in the background. */
  static start(fn: ResolvedFunction, logger: Logger): ExecutionEnvironment {
    return new ExecutionEnvironment(fn, logger);
  }

  get isAlive(): boolean {
    return this.alive;
  }

  /**
   * Runs one invocation, waiting first for the handler module to load. Never rejects: handler
   * errors, timeouts and crashes are outcomes. The caller must not start a second invocation
   * before this one settles.
   */
  invoke(request: InvocationRequest, timeoutMs: number): Promise<InvocationReport> {
    const log = new InvocationLog();
    log.append(this.pendingLog.text());
    this.pendingLog = new InvocationLog();
    log.append(`START RequestId: ${request.requestId} Version: ${request.functionVersion}\n`);

    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let invokedAt = performance.now();
      const running: RunningInvocation = {
        requestId: request.requestId,
        log,
        settle: (outcome) => {
          if (this.running !== running) return;
          this.running = undefined;
          clearTimeout(timer);
          const durationMs = performance.now() - invokedAt;
          this.appendClosingLines(log, request.requestId, durationMs);
          resolve({ outcome, log, durationMs });
        },
      };
      this.running = running;
      if (!this.alive) {
        running.settle({
          kind: 'function-error',
          error: {
            errorType: 'Runtime.ExitError',
            errorMessage: `RequestId: ${request.requestId} Error: Runtime exited without providing a reason`,
          },
        });
        return;
      }

      void this.waitForInit().then((initError) => {
        if (this.running !== running) return;
        if (initError !== undefined) {
          this.logger.warn({ errorType: initError.errorType }, 'handler module failed to load');
          this.kill();
          running.settle({ kind: 'function-error', error: initError });
          return;
        }

        invokedAt = performance.now();
        timer = setTimeout(() => this.timeOut(running, timeoutMs), timeoutMs);
        const message: InvokeMessage = {
          kind: 'invoke',
          requestId: request.requestId,
          eventJson: request.eventJson,
          deadlineMs: Date.now() + timeoutMs,
          invokedFunctionArn: request.invokedFunctionArn,
          functionVersion: request.functionVersion,
          clientContext: request.clientContext,
        };
        this.worker.postMessage(message);
      });
    });
  }

  /** Stops the worker thread and waits until it has exited. */
  async terminate(): Promise<void> {
    this.kill();
    await this.exited;
  }

  private waitForInit(): Promise<ErrorPayload | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const initTimeout = new Promise<ErrorPayload>((resolve) => {
      timer = setTimeout(
        () =>
          resolve({
            // NOTE: the error type Lambda reports for an init phase over 10 s is unconfirmed.
            errorType: 'Sandbox.Timedout',
            errorMessage: `Error: Init phase timed out after ${formatSeconds(INIT_TIMEOUT_MS)} seconds`,
          }),
        INIT_TIMEOUT_MS,
      );
    });
    return Promise.race([this.initialized, initTimeout]).finally(() => clearTimeout(timer));
  }

  private timeOut(running: RunningInvocation, timeoutMs: number): void {
    const seconds = formatSeconds(timeoutMs);
    running.log.append(
      `${new Date().toISOString()} ${running.requestId} Task timed out after ${seconds} seconds\n`,
    );
    this.logger.warn({ requestId: running.requestId, timeoutMs }, 'invocation timed out');
    this.kill();
    running.settle({
      kind: 'function-error',
      error: {
        errorType: 'Sandbox.Timedout',
        errorMessage: `RequestId: ${running.requestId} Error: Task timed out after ${seconds} seconds`,
      },
    });
  }

  private kill(): void {
    this.alive = false;
    void this.worker.terminate();
  }

  private onMessage(message: EnvironmentMessage): void {
    switch (message.kind) {
      case 'ready':
        this.initDurationMs = performance.now() - this.startedAt;
        this.logger.debug({ initDurationMs: this.initDurationMs }, 'execution environment ready');
        this.resolveInitialized(undefined);
        break;
      case 'init-error':
        this.resolveInitialized(message.error);
        break;
      case 'log':
        this.appendLog(message.text);
        break;
      case 'result':
        if (this.running?.requestId === message.requestId) {
          this.running.settle({ kind: 'success', payloadJson: message.payloadJson });
        }
        break;
      case 'error':
        if (this.running?.requestId === message.requestId) {
          this.running.settle({ kind: 'function-error', error: message.error });
        }
        break;
    }
  }

  private onUncaughtError(error: Error): void {
    this.uncaughtError = error;
    const requestId = this.running?.requestId ?? 'undefined';
    this.appendLog(
      `${new Date().toISOString()}\t${requestId}\tERROR\tUncaught Exception\t${util.inspect(error)}\n`,
    );
  }

  private onExit(exitCode: number): void {
    const expected = !this.alive;
    this.alive = false;
    const exitMessage = `Error: Runtime exited with error: exit status ${exitCode}`;
    this.resolveInitialized({ errorType: 'Runtime.ExitError', errorMessage: exitMessage });
    if (!expected) {
      this.logger.warn(
        {
          exitCode,
          uncaughtError: this.uncaughtError?.message,
          requestId: this.running?.requestId,
        },
        'execution environment exited',
      );
    }

    // Still set when the handler crashed or the host terminated the environment mid-invocation.
    const running = this.running;
    if (running === undefined) return;
    running.log.append(`RequestId: ${running.requestId} ${exitMessage}\nRuntime.ExitError\n`);
    running.settle({
      kind: 'function-error',
      error: {
        errorType: 'Runtime.ExitError',
        errorMessage: `RequestId: ${running.requestId} ${exitMessage}`,
      },
    });
  }

  private appendLog(text: string): void {
    if (this.running !== undefined) this.running.log.append(text);
    else this.pendingLog.append(text);
  }

  private appendClosingLines(log: InvocationLog, requestId: string, durationMs: number): void {
    const initDuration =
      this.initDurationMs === undefined
        ? ''
        : `\tInit Duration: ${this.initDurationMs.toFixed(2)} ms`;
    this.initDurationMs = undefined;
    log.append(`END RequestId: ${requestId}\n`);
    log.append(
      `REPORT RequestId: ${requestId}\tDuration: ${durationMs.toFixed(2)} ms\t` +
        `Billed Duration: ${Math.ceil(durationMs)} ms\tMemory Size: ${this.fn.memorySizeMb} MB` +
        `${initDuration}\t\n`,
    );
  }
}

/** Formats milliseconds as Lambda's timeout messages do: seconds with two decimals. */
function formatSeconds(ms: number): string {
  return (ms / 1000).toFixed(2);
}

function environmentSettings(fn: ResolvedFunction, environmentId: string): EnvironmentSettings {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    handlerModuleUrl: pathToFileURL(fn.handlerModule).href,
    handlerExport: fn.handlerExport,
    handlerName: fn.handler,
    functionName: fn.name,
    memorySizeMb: fn.memorySizeMb,
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: `${day}/[${LATEST_VERSION}]${environmentId}`,
  };
}

/**
 * Returns the variables Lambda sets in every Node.js execution environment, then the function's own.
 * Fake credentials keep an AWS SDK client inside a handler from falling back to the instance
 * metadata service. A function that needs other values sets them in `environment`.
 */
function environmentVariables(
  fn: ResolvedFunction,
  settings: EnvironmentSettings,
): Record<string, string> {
  return {
    PATH: RUNTIME_PATH,
    AWS_REGION: fn.region,
    AWS_DEFAULT_REGION: fn.region,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x',
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    // An environment here serves every version of its function, so it reports $LATEST;
    // context.functionVersion carries the version of each invocation.
    AWS_LAMBDA_FUNCTION_VERSION: LATEST_VERSION,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySizeMb),
    AWS_LAMBDA_LOG_GROUP_NAME: settings.logGroupName,
    AWS_LAMBDA_LOG_STREAM_NAME: settings.logStreamName,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    LAMBDA_TASK_ROOT: path.dirname(fn.handlerModule),
    _HANDLER: fn.handler,
    ...fn.environment,
  };
}
