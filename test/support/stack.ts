import path from 'node:path';
import { Redis } from 'ioredis';
import { loadApiConfig, startApiServer, type ApiServer } from '@bullpen/api';
import { silentLogger, type Env, type JobJson, type Logger } from '@bullpen/core';
import {
  loadDispatcherConfig,
  startDispatcher,
  type Dispatcher,
  type DispatcherDependencies,
} from '@bullpen/dispatcher';
import {
  startLambdaHost,
  type LambdaHost,
  type LocalFunctionDefinition,
} from '@bullpen/lambda-host';
import {
  startEndpointServer,
  waitFor,
  type EndpointHandler,
  type EndpointServer,
} from '../../services/dispatcher/test/support/endpoint-server';
import { cleanupPrefix, testRedisUrl, uniquePrefix } from './redis';

export {
  respondOk,
  waitFor,
  type EndpointHandler,
  type EndpointServer,
  type ReceivedCall,
} from '../../services/dispatcher/test/support/endpoint-server';

/** Bearer token the stack's API accepts. */
export const STACK_API_TOKEN = 'stack-test-token';
/** Fake credentials for every AWS client the stack starts. */
export const FAKE_AWS_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;
/** Region of the local Lambda host and of the dispatchers. */
export const STACK_REGION = 'us-east-1';
/** Repository root, for starting `src/main.ts` entry points as child processes. */
export const REPO_ROOT = path.resolve(__dirname, '../..');

export interface StackOptions {
  /** Label in the queue prefix, to tell test runs apart in Redis. */
  readonly label: string;
  /** Functions of a local Lambda host; the host starts only when there are some. */
  readonly functions?: LocalFunctionDefinition[];
  /** How many dispatchers to start in this process; default 1. */
  readonly dispatchers?: number;
  /** Extra dispatcher environment, such as `SHUTDOWN_GRACE_MS`. */
  readonly dispatcherEnv?: Env;
  /** Logger of the in-process dispatchers; default silent. */
  readonly dispatcherLogger?: Logger;
}

/** The reply of an API call: status and parsed JSON body. */
export interface ApiReply<T = unknown> {
  readonly status: number;
  readonly body: T;
}

export type StackJob = JobJson & { state: string };

/**
 * API, dispatchers, optional Lambda host and loopback endpoints on the shared test Redis,
 * under a queue prefix of their own. `close()` stops everything and deletes the prefix's keys.
 */
export interface Stack {
  readonly apiUrl: string;
  readonly queuePrefix: string;
  /** Connection to the test Redis, for reading or writing keys directly. */
  readonly redis: Redis;
  readonly lambdaHost: LambdaHost | undefined;
  readonly dispatchers: readonly Dispatcher[];
  /** Calls the API with the stack's token and a JSON body. */
  api<T = unknown>(method: string, route: string, body?: unknown): Promise<ApiReply<T>>;
  /** Registers a worker through `POST /workers`; throws unless the API returns 200. */
  registerWorker(registration: unknown): Promise<void>;
  /** Adds jobs through `POST /queues/:queue/jobs` and returns the created jobs. */
  addJobs(queue: string, jobs: unknown[]): Promise<JobJson[]>;
  /** Reads a job through `GET /queues/:queue/jobs/:id`. */
  getJob(queue: string, jobId: string): Promise<StackJob>;
  /** Polls a job until it is completed or failed and returns it. */
  waitForFinishedJob(queue: string, jobId: string, timeoutMs?: number): Promise<StackJob>;
  /** Starts a loopback HTTP endpoint that the stack closes with itself. */
  startEndpoint(handler?: EndpointHandler): Promise<EndpointServer>;
  /** Starts one more in-process dispatcher. */
  startDispatcher(env?: Env, dependencies?: DispatcherDependencies): Promise<Dispatcher>;
  /** Environment for a dispatcher child process (`pnpm dispatcher`) joining this stack. */
  dispatcherEnv(overrides?: Env): Record<string, string>;
  close(): Promise<void>;
}

/** Starts the API, the Lambda host when functions are given, and the dispatchers. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const queuePrefix = uniquePrefix(options.label);
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const resources = new StackResources(queuePrefix, redis, options);
  try {
    await resources.start(options.dispatchers ?? 1);
  } catch (error) {
    await resources.close();
    throw error;
  }
  return resources;
}

class StackResources implements Stack {
  readonly queuePrefix: string;
  readonly redis: Redis;
  readonly dispatchers: Dispatcher[] = [];
  lambdaHost: LambdaHost | undefined;
  private apiServer: ApiServer | undefined;
  private readonly endpoints: EndpointServer[] = [];
  private readonly options: StackOptions;

  constructor(queuePrefix: string, redis: Redis, options: StackOptions) {
    this.queuePrefix = queuePrefix;
    this.redis = redis;
    this.options = options;
  }

  get apiUrl(): string {
    return this.apiServer?.url ?? '';
  }

  async start(dispatcherCount: number): Promise<void> {
    this.apiServer = await startApiServer(
      loadApiConfig({
        REDIS_URL: testRedisUrl(),
        QUEUE_PREFIX: this.queuePrefix,
        PORT: '0',
        HOST: '127.0.0.1',
        AUTH_TOKENS: STACK_API_TOKEN,
        ENDPOINT_ALLOWLIST: '127.0.0.0/8,::1',
        LOG_LEVEL: 'silent',
      }),
      { logger: silentLogger() },
    );
    if (this.options.functions && this.options.functions.length > 0) {
      this.lambdaHost = await startLambdaHost({
        functions: this.options.functions,
        region: STACK_REGION,
      });
    }
    for (let index = 0; index < dispatcherCount; index += 1) await this.startDispatcher();
  }

  dispatcherEnv(overrides: Env = {}): Record<string, string> {
    const env: Env = {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: this.queuePrefix,
      ENDPOINT_ALLOWLIST: '127.0.0.0/8,::1',
      PUBLIC_API_URL: this.apiUrl,
      LOG_LEVEL: 'silent',
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      SHUTDOWN_GRACE_MS: '5000',
      AWS_REGION: STACK_REGION,
      ...(this.lambdaHost ? { AWS_ENDPOINT_URL_LAMBDA: this.lambdaHost.url } : {}),
      ...this.options.dispatcherEnv,
      ...overrides,
    };
    return Object.fromEntries(
      Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
  }

  async startDispatcher(
    env: Env = {},
    dependencies: DispatcherDependencies = {},
  ): Promise<Dispatcher> {
    const dispatcher = await startDispatcher(loadDispatcherConfig(this.dispatcherEnv(env)), {
      logger: this.options.dispatcherLogger ?? silentLogger(),
      awsCredentials: FAKE_AWS_CREDENTIALS,
      ...dependencies,
    });
    this.dispatchers.push(dispatcher);
    return dispatcher;
  }

  async startEndpoint(handler?: EndpointHandler): Promise<EndpointServer> {
    const endpoint = await startEndpointServer(handler);
    this.endpoints.push(endpoint);
    return endpoint;
  }

  async api<T = unknown>(method: string, route: string, body?: unknown): Promise<ApiReply<T>> {
    const response = await fetch(`${this.apiUrl}${route}`, {
      method,
      headers: { authorization: `Bearer ${STACK_API_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? null : JSON.parse(text)) as T };
  }

  async registerWorker(registration: unknown): Promise<void> {
    const reply = await this.api('POST', '/workers', registration);
    if (reply.status !== 200) {
      throw new Error(`POST /workers returned ${reply.status}: ${JSON.stringify(reply.body)}`);
    }
  }

  async addJobs(queue: string, jobs: unknown[]): Promise<JobJson[]> {
    const reply = await this.api<JobJson[]>(
      'POST',
      `/queues/${encodeURIComponent(queue)}/jobs`,
      jobs,
    );
    if (reply.status !== 200) {
      throw new Error(
        `POST /queues/${queue}/jobs returned ${reply.status}: ${JSON.stringify(reply.body)}`,
      );
    }
    return reply.body;
  }

  async getJob(queue: string, jobId: string): Promise<StackJob> {
    const route = `/queues/${encodeURIComponent(queue)}/jobs/${encodeURIComponent(jobId)}`;
    const reply = await this.api<StackJob>('GET', route);
    if (reply.status !== 200) {
      throw new Error(`GET ${route} returned ${reply.status}: ${JSON.stringify(reply.body)}`);
    }
    return reply.body;
  }

  async waitForFinishedJob(queue: string, jobId: string, timeoutMs = 10_000): Promise<StackJob> {
    await waitFor(
      async () => {
        const { state } = await this.getJob(queue, jobId);
        return state === 'completed' || state === 'failed';
      },
      timeoutMs,
      `job ${jobId} of queue ${queue} to finish`,
    );
    // The API reads the job's fields and its state in two steps, so the read that first
    // shows a finished state may carry the fields from before; a finished job no longer changes.
    return this.getJob(queue, jobId);
  }

  /** Stops every part even when one fails, then deletes the prefix's keys. */
  async close(): Promise<void> {
    const steps: Array<() => Promise<unknown>> = [
      () => Promise.all(this.dispatchers.splice(0).map((dispatcher) => dispatcher.close())),
      () => this.apiServer?.close() ?? Promise.resolve(),
      () => this.lambdaHost?.close() ?? Promise.resolve(),
      () => Promise.all(this.endpoints.splice(0).map((endpoint) => endpoint.close())),
      () => cleanupPrefix(this.redis, this.queuePrefix),
      () => this.redis.quit(),
    ];
    const failures: unknown[] = [];
    for (const step of steps) {
      try {
        await step();
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0)
      throw new AggregateError(failures, 'The test stack did not stop cleanly');
  }
}
