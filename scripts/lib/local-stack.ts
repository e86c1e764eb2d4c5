import crypto from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BullpenClient } from '@bullpen/client';
import { ChildService, type ChildExit } from './child-service';
import {
  CSV_REPORT_QUEUE,
  demoSucceeded,
  describeOutcome,
  registerExampleWorkers,
  runDemo,
  TEXT_STATS_QUEUE,
} from './demo';
import { TEXT_STATS_FUNCTION } from './example-functions';
import type { LambdaHostReadyMessage } from './lambda-host-runner';
import type { StackConfig } from './stack-config';

interface LocalRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

const { startLocalRedis, findFreePort } = require('./local-redis.cjs') as {
  startLocalRedis(options: {
    dataDir: string;
    persist?: boolean;
    detached?: boolean;
    log?: (line: string) => void;
  }): Promise<LocalRedis>;
  findFreePort(): Promise<number>;
};

const { SERVICES, readServiceNodeFlags } = require('./service-node-flags.cjs') as {
  SERVICES: readonly string[];
  readServiceNodeFlags(service: string): string[];
};

const STARTUP_TIMEOUT_MS = 30_000;
const SERVICE_STOP_GRACE_MS = 5_000;
const REDIS_STOP_TIMEOUT_MS = 10_000;
const HEALTH_POLL_INTERVAL_MS = 100;

/** Addresses of the running stack's parts. */
interface StackEndpoints {
  readonly redisUrl: string;
  readonly apiUrl: string;
  readonly metricsUrl: string;
  readonly lambdaHostUrl: string;
  readonly textStatsFunctionUrl: string;
}

/** Raised inside startup and demo steps when Ctrl-C or SIGTERM requests a stop. */
class StopRequested extends Error {
  constructor(readonly reason: string) {
    super(`stop requested (${reason})`);
  }
}

/**
 * Runs the local stack: a private redis-server (unless REDIS_URL is set), the local Lambda
 * host, the API and the dispatcher as child processes, then the demo. Returns the exit code.
 */
export async function runLocalStack(config: StackConfig): Promise<number> {
  return new LocalStack(config).run();
}

class LocalStack {
  private readonly config: StackConfig;
  private readonly apiToken = crypto.randomBytes(18).toString('base64url');
  private redis: LocalRedis | undefined;
  private lambdaHost: ChildService | undefined;
  private api: ChildService | undefined;
  private dispatcher: ChildService | undefined;
  private stopReason: string | undefined;
  private crashed = false;
  private shuttingDown = false;
  private readonly stopSignal: Promise<never>;
  private rejectStop!: (error: StopRequested) => void;

  constructor(config: StackConfig) {
    this.config = config;
    this.stopSignal = new Promise<never>((_, reject) => {
      this.rejectStop = reject;
    });
    // Only awaited through `untilStopped`; this keeps an early stop from being unhandled.
    this.stopSignal.catch(() => undefined);
  }

  async run(): Promise<number> {
    const onSignal = (signal: NodeJS.Signals) => this.handleSignal(signal);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // Output piped into a program that Ctrl-C also ended (`npm start | tee`) fails with EPIPE;
    // that must not crash the stack in the middle of its shutdown.
    process.stdout.on('error', ignoreError);
    process.stderr.on('error', ignoreError);
    // Last resort when this process ends without its shutdown (an uncaught error, process.exit):
    // the detached redis-server would otherwise outlive it. Services stop themselves when the
    // IPC channel closes. Nothing runs on SIGKILL.
    const onExit = () => this.killLeftovers();
    process.on('exit', onExit);

    let demoFailed = false;
    let startupFailed = false;
    try {
      const endpoints = await this.start();
      this.printEndpoints(endpoints);

      const client = new BullpenClient({ baseUrl: endpoints.apiUrl, token: this.apiToken });
      demoFailed = !(await this.runDemo(client, endpoints));
      this.printTryNext(endpoints);

      if (!this.config.demoExit) {
        log('\nServing until Ctrl-C.');
        await this.untilStopped(new Promise<never>(() => undefined));
      }
    } catch (error) {
      if (!(error instanceof StopRequested)) {
        startupFailed = true;
        log(`\nThe local stack failed: ${(error as Error).message}`);
      }
    } finally {
      await this.shutdown();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('exit', onExit);
    }

    return startupFailed || demoFailed || this.crashed ? 1 : 0;
  }

  private async start(): Promise<StackEndpoints> {
    log('Starting the Bullpen local stack...');
    const redisUrl = await this.startRedis();
    const [apiPort, metricsPort] = await findDistinctFreePorts(2);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const metricsUrl = `http://127.0.0.1:${metricsPort}`;

    this.lambdaHost = this.startService('lambda-host', 'scripts/lib/lambda-host-runner.ts', {});
    this.api = this.startService('api', 'services/api/src/main.ts', {
      REDIS_URL: redisUrl,
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      AUTH_TOKENS: this.apiToken,
      ENDPOINT_ALLOWLIST: '127.0.0.0/8,::1',
      PUBLIC_API_URL: apiUrl,
    });
    const lambdaHostReady = await this.untilStopped(
      this.lambdaHost.waitForMessage(readLambdaHostReady, STARTUP_TIMEOUT_MS),
    );
    const textStatsFunctionUrl = lambdaHostReady.functionUrls[TEXT_STATS_FUNCTION];
    if (textStatsFunctionUrl === undefined) {
      throw new Error(`the Lambda host serves no Function URL for ${TEXT_STATS_FUNCTION}`);
    }

    // The fake credentials and region exist only in the dispatcher's environment, so no AWS
    // SDK anywhere in the stack can find real ones or ask a metadata service.
    this.dispatcher = this.startService('dispatcher', 'services/dispatcher/src/main.ts', {
      REDIS_URL: redisUrl,
      PUBLIC_API_URL: apiUrl,
      ENDPOINT_ALLOWLIST: '127.0.0.0/8,::1',
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: String(metricsPort),
      SHUTDOWN_GRACE_MS: String(this.config.shutdownGraceMs),
      AWS_ENDPOINT_URL_LAMBDA: lambdaHostReady.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_EC2_METADATA_DISABLED: 'true',
    });

    await this.untilStopped(
      Promise.all([
        this.waitForHttp(this.api, `${apiUrl}/ready`),
        this.waitForHttp(this.dispatcher, `${metricsUrl}/health`),
      ]),
    );
    return {
      redisUrl,
      apiUrl,
      metricsUrl,
      lambdaHostUrl: lambdaHostReady.url,
      textStatsFunctionUrl,
    };
  }

  private async startRedis(): Promise<string> {
    if (this.config.redisUrl) return this.config.redisUrl;

    // Not raced against a stop request: the server must be known, so shutdown can stop it.
    // startLocalRedis gives up by itself after 10 s.
    this.redis = await startLocalRedis({
      dataDir: path.join(this.config.stateDir, 'redis'),
      persist: true,
      // Out of the terminal's process group, so Ctrl-C reaches only this process, which stops
      // Redis last, after the dispatcher has finished its running jobs.
      detached: true,
      log: (line) => log(line),
    });
    if (this.stopReason !== undefined) throw new StopRequested(this.stopReason);
    return this.redis.url;
  }

  private startService(name: string, entry: string, variables: Record<string, string>) {
    const service = ChildService.start({
      name,
      // The API and the dispatcher run with the flags of their container.
      nodeFlags: SERVICES.includes(name) ? readServiceNodeFlags(name) : [],
      entry: path.join(this.config.repoRoot, entry),
      cwd: this.config.repoRoot,
      env: { ...inheritedEnvironment(), LOG_LEVEL: this.config.logLevel, ...variables },
      logFile: path.join(this.config.stateDir, 'logs', `${name}.log`),
    });
    void service.exited.then((exit) => this.onServiceExit(service, exit));
    return service;
  }

  private onServiceExit(service: ChildService, exit: ChildExit): void {
    if (this.shuttingDown) return;
    this.crashed = true;
    log(
      `\n${service.name} exited unexpectedly (${describeExit(exit)}). Last lines of ${service.logFile}:`,
    );
    log(indent(service.logTail(15)));
    this.requestStop(`${service.name} exited`);
  }

  private async waitForHttp(service: ChildService, url: string): Promise<void> {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (service.hasExited) {
        throw new Error(`${service.name} exited during startup; see ${service.logFile}`);
      }
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await response.arrayBuffer();
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      await sleep(HEALTH_POLL_INTERVAL_MS);
    }
    throw new Error(
      `${service.name} did not respond at ${url} within ${STARTUP_TIMEOUT_MS} ms; see ${service.logFile}`,
    );
  }

  private async runDemo(client: BullpenClient, endpoints: StackEndpoints): Promise<boolean> {
    await this.untilStopped(registerExampleWorkers(client, endpoints.textStatsFunctionUrl));
    log(`\nRegistered workers:`);
    for (const [queue, endpoint] of Object.entries(await this.untilStopped(client.listWorkers()))) {
      log(`  ${queue} -> ${endpoint}`);
    }

    log('\nDemo: adding jobs to both queues and waiting for them to finish...');
    const outcomes = await this.untilStopped(runDemo(client));
    for (const outcome of outcomes) {
      log('');
      for (const line of describeOutcome(outcome)) log(`  ${line}`);
    }

    const succeeded = demoSucceeded(outcomes);
    log(
      succeeded
        ? '\nDemo finished: every job ended as expected.'
        : '\nDemo failed: a job did not end as expected.',
    );
    return succeeded;
  }

  private printEndpoints(endpoints: StackEndpoints): void {
    const redisNote = this.redis
      ? `private redis-server, data in ${displayPath(this.config.repoRoot, path.join(this.config.stateDir, 'redis'))}`
      : 'from REDIS_URL';
    log('');
    log(`  Redis         ${redactRedisUrl(endpoints.redisUrl)} (${redisNote})`);
    log(
      `  Lambda host   ${endpoints.lambdaHostUrl} (${TEXT_STATS_FUNCTION} Function URL ${endpoints.textStatsFunctionUrl})`,
    );
    log(`  API           ${endpoints.apiUrl}`);
    log(`  Dispatcher    metrics at ${endpoints.metricsUrl}/metrics`);
    log(`  API token     ${this.apiToken}`);
    log(
      `  Logs          ${displayPath(this.config.repoRoot, path.join(this.config.stateDir, 'logs'))}`,
    );
    log(`  Processes     ${this.describeProcesses()}`);
  }

  private printTryNext(endpoints: StackEndpoints): void {
    const job = JSON.stringify([
      { name: 'sourdough', data: { file: 'sourdough-starter-guide.txt', topWords: 5 } },
    ]);
    log('\nTry next (adds a job; read it back with GET /queues/text-stats/jobs/<id>):');
    log(
      `  curl -s -X POST -H 'Authorization: Bearer ${this.apiToken}' -H 'Content-Type: application/json' ` +
        `-d '${job}' ${endpoints.apiUrl}/queues/${TEXT_STATS_QUEUE}/jobs`,
    );
    log(`  (the CSV reports are in queue ${CSV_REPORT_QUEUE})`);
  }

  private describeProcesses(): string {
    const parts: string[] = [];
    if (this.redis) parts.push(`redis-server ${this.redis.pid}`);
    for (const service of [this.lambdaHost, this.api, this.dispatcher]) {
      if (service?.pid !== undefined) parts.push(`${service.name} ${service.pid}`);
    }
    return parts.join(', ');
  }

  private handleSignal(signal: NodeJS.Signals): void {
    if (this.shuttingDown) {
      log(`\n${signal} again: killing every process now.`);
      this.killLeftovers();
      process.exit(1);
    }
    this.requestStop(signal);
  }

  private killLeftovers(): void {
    for (const service of [this.dispatcher, this.api, this.lambdaHost]) service?.kill();
    if (this.redis) killQuietly(this.redis.pid);
    this.redis = undefined;
  }

  private requestStop(reason: string): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = reason;
    this.rejectStop(new StopRequested(reason));
  }

  /** Races a step against a stop request, so Ctrl-C during startup or the demo stops at once. */
  private untilStopped<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.stopSignal]);
  }

  /**
   * Stops everything in dependency order: the dispatcher first, so it lets running jobs finish
   * while the API and the functions they call back are still up, then the API, the Lambda host
   * and Redis. Every step runs even when an earlier one fails.
   */
  private async shutdown(): Promise<void> {
    this.shuttingDown = true;
    log(`\nStopping${this.stopReason ? ` (${this.stopReason})` : ''}...`);

    const steps: Array<[string, ChildService | undefined, number]> = [
      ['dispatcher', this.dispatcher, this.config.shutdownGraceMs + SERVICE_STOP_GRACE_MS],
      ['api', this.api, SERVICE_STOP_GRACE_MS],
      ['lambda-host', this.lambdaHost, SERVICE_STOP_GRACE_MS],
    ];
    for (const [name, service, graceMs] of steps) {
      if (!service) continue;
      try {
        const exit = await service.stop(graceMs);
        log(
          `  ${name} stopped (${describeExit(exit)}${exit.killed ? ', killed after the grace period' : ''})`,
        );
      } catch (error) {
        log(`  ${name} did not stop cleanly: ${(error as Error).message}`);
      }
    }
    await this.stopRedis();
  }

  private async stopRedis(): Promise<void> {
    const redis = this.redis;
    if (!redis) return;
    const stopped = await Promise.race([
      redis.stop().then(() => true),
      sleep(REDIS_STOP_TIMEOUT_MS).then(() => false),
    ]);
    if (!stopped) killQuietly(redis.pid);
    // Its pid may be reused from now on, so nothing may signal it again.
    this.redis = undefined;
    log(`  redis-server stopped${stopped ? '' : ' (killed after the grace period)'}`);
  }
}

/**
 * Picks free loopback ports for services that take a fixed port. Another program may take one
 * before the service binds it; the service then fails to start and the stack reports it.
 */
async function findDistinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await findFreePort());
  return [...ports];
}

function readLambdaHostReady(message: unknown): LambdaHostReadyMessage | undefined {
  const candidate = message as Partial<LambdaHostReadyMessage> | undefined;
  return candidate?.type === 'lambda-host-ready'
    ? (candidate as LambdaHostReadyMessage)
    : undefined;
}

/**
 * Returns the environment services inherit: the user's, without AWS variables, so that no
 * service picks up real credentials, a profile or a region by accident.
 */
function inheritedEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')),
  );
}

function describeExit(exit: ChildExit): string {
  if (exit.signal) return `signal ${exit.signal}`;
  return `exit code ${exit.code ?? 'unknown'}`;
}

function redactRedisUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString().replace(/\/$/, '');
}

/** Formats a path relative to the repo root when it is inside it, else as an absolute path. */
function displayPath(repoRoot: string, target: string): string {
  const relative = path.relative(repoRoot, target);
  return relative.startsWith('..') || path.isAbsolute(relative) ? target : relative;
}

function ignoreError(): void {
  // Deliberately empty: see the listeners in `run`.
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

function log(line: string): void {
  console.log(line);
}
