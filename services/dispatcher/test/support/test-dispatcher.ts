import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import {
  WorkerRegistry,
  createLogger,
  normalizedRegistrationSchema,
  type Env,
  type Logger,
  type WorkerRegistrationInput,
} from '@bullpen/core';
import {
  loadDispatcherConfig,
  startDispatcher,
  type Dispatcher,
  type DispatcherConfig,
  type DispatcherDependencies,
} from '../../src';
import { testRedisUrl } from '../../../../test/support/redis';

/** One parsed log line. */
export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly queue?: string;
  readonly [field: string]: unknown;
}

/** A debug-level logger whose lines are kept in memory for assertions. */
export function memoryLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (text.trim() !== '') lines.push(JSON.parse(text) as LogLine);
      }
      callback();
    },
  });
  return { logger: createLogger({ name: 'dispatcher-test', level: 'debug', destination }), lines };
}

/**
 * Environment of a dispatcher under test: the test Redis unless `overrides` names another,
 * loopback endpoints, a free metrics port.
 */
export function testEnv(queuePrefix: string, overrides: Env = {}): Env {
  return {
    REDIS_URL: overrides.REDIS_URL ?? testRedisUrl(),
    QUEUE_PREFIX: queuePrefix,
    ENDPOINT_ALLOWLIST: '127.0.0.0/8,::1',
    PUBLIC_API_URL: 'http://127.0.0.1:9/',
    LOG_LEVEL: 'silent',
    METRICS_PORT: '0',
    METRICS_HOST: '127.0.0.1',
    SHUTDOWN_GRACE_MS: '5000',
    AWS_REGION: 'us-east-1',
    ...overrides,
  };
}

/**
 * Starts a dispatcher with fake AWS credentials. `configOverrides` sets fields that have no
 * environment variable, such as `cloudWatchMetricsIntervalMs`.
 */
export async function startTestDispatcher(
  queuePrefix: string,
  envOverrides: Env = {},
  dependencies: DispatcherDependencies = {},
  configOverrides: Partial<DispatcherConfig> = {},
): Promise<Dispatcher> {
  const config = {
    ...loadDispatcherConfig(testEnv(queuePrefix, envOverrides)),
    ...configOverrides,
  };
  return startDispatcher(config, {
    awsCredentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    ...dependencies,
  });
}

/** Writes a registration through the registry, as the API does. */
export async function register(
  redis: Redis,
  queuePrefix: string,
  registration: WorkerRegistrationInput,
): Promise<void> {
  await new WorkerRegistry(redis, queuePrefix).put(
    normalizedRegistrationSchema.parse(registration),
  );
}

export function testQueue(name: string, redis: Redis, queuePrefix: string): Queue {
  return new Queue(name, { connection: redis, prefix: queuePrefix });
}

export function newRedis(): Redis {
  return new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
