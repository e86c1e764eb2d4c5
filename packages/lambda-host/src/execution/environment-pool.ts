import type { Logger } from 'pino';
import { LambdaHostError } from '../errors';
import type { ResolvedFunction } from '../function-definition';
import { ExecutionEnvironment } from './execution-environment';

/** The pool of one function was closed while an invocation waited for an environment. */
export class PoolClosedError extends LambdaHostError {
  constructor(functionName: string) {
    super(`The execution environments of "${functionName}" were shut down; start a new host`);
  }
}

/**
 * The execution environments of one function. Each runs one invocation at a time. A free warm
 * environment is reused before a new one starts, and when the function sets
 * `reservedConcurrency`, at most that many are busy at once.
 */
export class EnvironmentPool {
  private readonly fn: ResolvedFunction;
  private readonly logger: Logger;
  private readonly environments = new Set<ExecutionEnvironment>();
  private readonly idle: ExecutionEnvironment[] = [];
  private readonly waiting: Array<{
    resolve: (environment: ExecutionEnvironment) => void;
    reject: (error: Error) => void;
  }> = [];
  private busyCount = 0;
  private closed = false;

  constructor(fn: ResolvedFunction, logger: Logger) {
    this.fn = fn;
    this.logger = logger;
  }

  /** Takes an environment, or returns undefined when the reserved concurrency is in use. */
  tryAcquire(): ExecutionEnvironment | undefined {
    if (this.closed) throw new PoolClosedError(this.fn.name);
    if (!this.hasCapacity()) return undefined;
    return this.take();
  }

  /** Takes an environment, waiting for one to become free when the concurrency is in use. */
  acquire(): Promise<ExecutionEnvironment> {
    const environment = this.tryAcquire();
    if (environment !== undefined) return Promise.resolve(environment);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Returns an environment after its invocation settled; a dead one is dropped. */
  release(environment: ExecutionEnvironment): void {
    this.busyCount -= 1;
    if (environment.isAlive && !this.closed) this.idle.push(environment);
    else this.environments.delete(environment);

    if (this.waiting.length > 0 && this.hasCapacity()) this.waiting.shift()?.resolve(this.take());
  }

  /** Terminates every environment, busy or idle, and fails invocations still waiting. */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(new PoolClosedError(this.fn.name));
    this.idle.length = 0;
    const environments = [...this.environments];
    this.environments.clear();
    await Promise.all(environments.map((environment) => environment.terminate()));
  }

  private hasCapacity(): boolean {
    const limit = this.fn.reservedConcurrency;
    return limit === undefined || this.busyCount < limit;
  }

  private take(): ExecutionEnvironment {
    this.busyCount += 1;
    let environment = this.idle.pop();
    // An idle environment may have crashed since its last invocation (an error in a timer).
    while (environment !== undefined && !environment.isAlive) {
      this.environments.delete(environment);
      environment = this.idle.pop();
    }
    if (environment !== undefined) return environment;

    const started = ExecutionEnvironment.start(this.fn, this.logger);
    this.environments.add(started);
    this.logger.debug(
      {
        functionName: this.fn.name,
        environmentId: started.id,
        environments: this.environments.size,
      },
      'execution environment started',
    );
    return started;
  }
}
