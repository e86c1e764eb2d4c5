import type { Redis } from 'ioredis';
import {
  WorkerRegistry,
  createLogger,
  createRedis,
  describeRedis,
  type Logger,
} from '@bullpen/core';
import { BacklogMetricReporter } from './backlog-metric';
import type { DispatcherConfig } from './config';
import { endConnection, trackConnectionCopies, type ConnectionCopies } from './connection-copies';
import { DispatcherError, DispatcherShutdownError } from './errors';
import { lazyDefaultCredentials, type AwsCredentialsSource } from './invokers/aws-credentials';
import { InFlightCalls, systemClock, type Clock } from './invokers/call-context';
import { EndpointPools } from './invokers/endpoint-pools';
import { HttpInvoker } from './invokers/http-invoker';
import {
  LambdaInvoker,
  createLambdaClient,
  type LambdaClientFactory,
} from './invokers/lambda-invoker';
import { SigV4Signer } from './invokers/sigv4-signer';
import { DispatcherMetrics } from './metrics';
import { startMetricsServer, type MetricsServer } from './metrics-server';
import { QueueWorkers } from './queue-workers';
import { RegistryFollower } from './registry-follower';

export interface DispatcherDependencies {
  /** Default: a pino JSON logger on standard output at `config.logLevel`. */
  readonly logger?: Logger;
  /** Creates the Lambda client of a region. Default: `createLambdaClient` with `config.lambdaEndpoint`. */
  readonly lambdaClientFactory?: LambdaClientFactory;
  /** Default: the system clock. */
  readonly clock?: Clock;
  /**
   * Credentials for Lambda calls and SigV4-signed HTTP calls. Default: the AWS SDK's
   * default provider chain, created on first use.
   */
  readonly awsCredentials?: AwsCredentialsSource;
  /** Receives each CloudWatch metric line. Default: standard output. */
  readonly writeMetricLine?: (line: string) => void;
}

export type DispatcherState = 'running' | 'stopping' | 'stopped';

export interface Dispatcher {
  /** Base URL of the metrics server: `GET /metrics` and `GET /health` live under it. */
  readonly metricsUrl: string;
  readonly state: DispatcherState;
  /** Names of the queues that have a running worker, sorted. */
  runningQueues(): string[];
  /** Endpoint calls waiting for their response, across all queues. */
  callsInFlight(): number;
  /**
   * Shuts down gracefully: stops fetching jobs, lets in-flight calls finish for up to
   * `shutdownGraceMs`, then returns the calls still running to waiting and closes every
   * connection. Every cleanup step runs even when an earlier one fails; the returned
   * promise then rejects with a DispatcherShutdownError naming the failed steps.
   */
  close(): Promise<void>;
}

/** Time allowed to the calls cut off after the grace period to return their jobs to waiting. */
const ABANDON_WAIT_MS = 3_000;
/** Time allowed to the workers' closes to finish after their connections were ended. */
const DISCONNECTED_CLOSE_WAIT_MS = 1_000;
/** Time allowed to a Redis QUIT before the connection is dropped. */
const REDIS_QUIT_TIMEOUT_MS = 1_000;
/** Time allowed to reach Redis at start before the dispatcher gives up. */
const REDIS_STARTUP_TIMEOUT_MS = 10_000;

/** Starts a dispatcher: the metrics server, one worker per registered queue, and the registry follower. */
export async function startDispatcher(
  config: DispatcherConfig,
  dependencies: DispatcherDependencies = {},
): Promise<Dispatcher> {
  const logger =
    dependencies.logger ?? createLogger({ name: 'bullpen-dispatcher', level: config.logLevel });
  const runtime = new DispatcherRuntime(config, dependencies, logger);
  try {
    await runtime.start();
  } catch (error) {
    await runtime.close().catch(() => undefined);
    throw error;
  }
  return runtime;
}

class DispatcherRuntime implements Dispatcher {
  private readonly config: DispatcherConfig;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly metrics = new DispatcherMetrics();
  private readonly workerConnection: Redis;
  /** The workers' blocking connections, which BullMQ opens as copies of workerConnection. */
  private readonly workerConnectionCopies: ConnectionCopies;
  private readonly registryConnection: Redis;
  private readonly blockingConnection: Redis;
  private readonly endpointPools: EndpointPools;
  private readonly lambdaInvoker: LambdaInvoker;
  private readonly inFlight = new InFlightCalls();
  private readonly queueWorkers: QueueWorkers;
  private readonly follower: RegistryFollower;
  private readonly backlogReporter: BacklogMetricReporter | undefined;
  private metricsServer: MetricsServer | undefined;
  private closing: Promise<void> | undefined;
  private currentState: DispatcherState = 'running';

  constructor(config: DispatcherConfig, dependencies: DispatcherDependencies, logger: Logger) {
    this.config = config;
    this.logger = logger;
    this.clock = dependencies.clock ?? systemClock;

    // BullMQ workers need maxRetriesPerRequest: null so that their commands wait for a
    // reconnect instead of failing. The registry connections keep ioredis' default, so a
    // Redis outage surfaces in the follower's log instead of a silent wait.
    this.workerConnection = createRedis(config.redis, { maxRetriesPerRequest: null });
    this.workerConnectionCopies = trackConnectionCopies(this.workerConnection);
    this.registryConnection = createRedis(config.redis);
    this.blockingConnection = createRedis(config.redis);
    for (const [name, connection] of [
      ['worker', this.workerConnection],
      ['registry', this.registryConnection],
      ['registry-stream', this.blockingConnection],
    ] as const) {
      connection.on('error', this.redisErrorLogger(name));
    }

    const credentials = dependencies.awsCredentials ?? lazyDefaultCredentials();
    this.endpointPools = new EndpointPools({ allowlist: config.endpointAllowlist });
    const httpInvoker = new HttpInvoker({
      pools: this.endpointPools,
      inFlight: this.inFlight,
      clock: this.clock,
      throttleDelayMs: config.throttleDelayMs,
      signer: new SigV4Signer(credentials),
      defaultRegion: config.awsRegion,
    });
    this.lambdaInvoker = new LambdaInvoker({
      clientFactory:
        dependencies.lambdaClientFactory ??
        ((region) => createLambdaClient({ region, endpoint: config.lambdaEndpoint, credentials })),
      inFlight: this.inFlight,
      defaultRegion: config.awsRegion,
      clock: this.clock,
      throttleDelayMs: config.throttleDelayMs,
      logger,
    });

    this.queueWorkers = new QueueWorkers({
      connection: this.workerConnection,
      queuePrefix: config.queuePrefix,
      dispatch: {
        httpInvoker,
        lambdaInvoker: this.lambdaInvoker,
        callbackUrl: config.publicApiUrl,
        metrics: this.metrics,
        logger,
        clock: this.clock,
      },
      metrics: this.metrics,
      logger,
    });
    this.follower = new RegistryFollower({
      registry: new WorkerRegistry(this.registryConnection, config.queuePrefix),
      blockingConnection: this.blockingConnection,
      sink: this.queueWorkers,
      reconcileIntervalMs: config.reconcileIntervalMs,
      logger,
      clock: this.clock,
    });
    this.backlogReporter = config.cloudWatchMetrics
      ? new BacklogMetricReporter({
          queues: () => this.queueWorkers.runningQueueHandles(),
          serviceName: config.serviceName,
          intervalMs: config.cloudWatchMetricsIntervalMs,
          write: dependencies.writeMetricLine ?? ((line) => process.stdout.write(line)),
          clock: this.clock,
          logger,
        })
      : undefined;
  }

  get metricsUrl(): string {
    return this.metricsServer?.url ?? '';
  }

  get state(): DispatcherState {
    return this.currentState;
  }

  runningQueues(): string[] {
    return this.queueWorkers.runningQueues();
  }

  callsInFlight(): number {
    return this.metrics.callsInFlightTotal;
  }

  async start(): Promise<void> {
    this.metricsServer = await startMetricsServer({
      host: this.config.metricsHost,
      port: this.config.metricsPort,
      registry: this.metrics.registry,
      health: () => ({ healthy: this.currentState === 'running', state: this.currentState }),
      logger: this.logger,
    });

    await this.checkRedis();
    await this.follower.start();
    this.backlogReporter?.start();

    this.logger.info(
      {
        metricsUrl: this.metricsServer.url,
        redis: describeRedis(this.config.redis),
        queuePrefix: this.config.queuePrefix,
        queues: this.runningQueues(),
      },
      'dispatcher started',
    );
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async checkRedis(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`PING timed out after ${REDIS_STARTUP_TIMEOUT_MS} ms`)),
        REDIS_STARTUP_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([this.registryConnection.ping(), timeout]);
    } catch (error) {
      throw new DispatcherError(
        `Cannot reach Redis at ${describeRedis(this.config.redis)}: ${(error as Error).message}. ` +
          'Check REDIS_URL (or REDIS_HOST and REDIS_PORT) and that Redis is running.',
        'redis_unreachable',
        error,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  private async shutdown(): Promise<void> {
    this.currentState = 'stopping';
    this.logger.info(
      { callsInFlight: this.callsInFlight(), shutdownGraceMs: this.config.shutdownGraceMs },
      'dispatcher stopping; no new jobs are fetched',
    );

    const failures: Array<{ step: string; error: unknown }> = [];
    const runStep = async (step: string, action: () => Promise<unknown> | unknown) => {
      try {
        await action();
      } catch (error) {
        failures.push({ step, error });
        this.logger.error({ step, err: error }, 'shutdown step failed; continuing with the next');
      }
    };

    await runStep('stop backlog metric', () => this.backlogReporter?.stop());
    await runStep('stop registry follower', () => this.follower.stop());
    await runStep('drain workers', () => this.drainWorkers());
    await runStep('close HTTP connections', () => this.endpointPools.destroy());
    await runStep('close Lambda clients', () => this.lambdaInvoker.close());
    await runStep('close Redis connections', () => this.closeRedis());
    await runStep('close metrics server', () => this.metricsServer?.close());

    this.currentState = 'stopped';
    if (failures.length > 0) throw new DispatcherShutdownError(failures);
    this.logger.info('dispatcher stopped');
  }

  /**
   * Waits for in-flight calls up to the grace period. Calls still running after it are
   * abandoned: their jobs go back to waiting without using an attempt. The endpoint may
   * still finish such a call, so the job can run twice; the idempotency key lets the
   * endpoint tell.
   */
  private async drainWorkers(): Promise<void> {
    const drained = this.queueWorkers.closeAll();
    if (await settlesWithin(drained, this.config.shutdownGraceMs)) return;

    const callsInFlight = this.callsInFlight();
    this.logger.warn(
      { callsInFlight, shutdownGraceMs: this.config.shutdownGraceMs },
      callsInFlight > 0
        ? 'grace period over; abandoning in-flight calls and returning their jobs to waiting'
        : 'grace period over with no calls in flight; the workers are still closing, most likely waiting for Redis',
    );
    this.inFlight.abandonAll();
    if (await settlesWithin(drained, ABANDON_WAIT_MS)) return;

    // Most likely Redis is unreachable and the workers wait on commands that Redis never
    // replies to, their blocking connections' QUIT among them. Ending the workers' connections
    // rejects those commands, so the workers finish closing and stop their timers, and
    // nothing keeps the process alive after close() has returned.
    this.workerConnectionCopies.endAll();
    endConnection(this.workerConnection);
    if (!(await settlesWithin(drained, DISCONNECTED_CLOSE_WAIT_MS))) {
      this.queueWorkers.forgetClosingWorkers();
    }
    throw new DispatcherError(
      `Workers did not close within ${ABANDON_WAIT_MS} ms after the grace period, so their ` +
        'connections were ended; their jobs return to waiting when BullMQ detects them as stalled.',
      'workers_not_closed',
    );
  }

  private async closeRedis(): Promise<void> {
    await Promise.all(
      [this.workerConnection, this.registryConnection, this.blockingConnection].map(
        async (connection) => {
          if (connection.status === 'end') return;
          const quit = connection.quit().catch(() => endConnection(connection));
          if (!(await settlesWithin(quit, REDIS_QUIT_TIMEOUT_MS))) endConnection(connection);
        },
      ),
    );
  }

  /**
   * Returns a listener that logs one connection's errors, at most one line per 10 s, with
   * the number of errors left out since the last line.
   */
  private redisErrorLogger(connection: string): (error: Error) => void {
    let lastLoggedMs = 0;
    let suppressed = 0;
    return (error) => {
      const nowMs = this.clock.now();
      if (nowMs - lastLoggedMs < 10_000) {
        suppressed += 1;
        return;
      }
      this.logger.error({ connection, err: error, suppressed }, 'Redis connection error');
      lastLoggedMs = nowMs;
      suppressed = 0;
    };
  }
}

/** Returns whether `promise` settles within `ms`. A rejection counts as settled and is rethrown. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), expired]);
  } finally {
    clearTimeout(timer);
  }
}
