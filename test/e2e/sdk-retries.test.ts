import path from 'node:path';
import { loadApiConfig, startApiServer, type ApiServer } from '@bullpen/api';
import { BullpenClient, type Job, type NewJob } from '@bullpen/client';
import { silentLogger } from '@bullpen/core';
import { loadDispatcherConfig, startDispatcher, type Dispatcher } from '@bullpen/dispatcher';
import { startLambdaHost, type LambdaHost } from '@bullpen/lambda-host';
import { Redis } from 'ioredis';
import { cleanupPrefix, testRedisUrl, uniquePrefix, uniqueQueue } from '../support/redis';

// Handlers built with @bullpen/handler; the Lambda host loads them by path, as Lambda would.
const HANDLER_MODULE = path.resolve(
  __dirname,
  '../../packages/handler/test/fixtures/outcome-handlers.ts',
);
const API_TOKEN = 'sdk-retries-token';
const ALLOWLIST = '127.0.0.0/8,::1';
const RETRIES = { attempts: 3, backoff: { type: 'fixed' as const, delay: 100 } };

const FUNCTIONS = {
  unrecoverable: 'sdk-unrecoverable',
  alwaysFails: 'sdk-always-fails',
  flaky: 'sdk-flaky',
} as const;

let prefix: string;
let host: LambdaHost;
let api: ApiServer;
let dispatcher: Dispatcher;
let client: BullpenClient;

beforeAll(async () => {
  prefix = uniquePrefix('sdk-retries');
  host = await startLambdaHost({
    functions: Object.entries(FUNCTIONS).map(([handlerExport, name]) => ({
      name,
      handlerModule: HANDLER_MODULE,
      handlerExport,
      timeoutMs: 10_000,
      functionUrl: true,
    })),
  });
  api = await startApiServer(
    loadApiConfig({
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      AUTH_TOKENS: API_TOKEN,
      ENDPOINT_ALLOWLIST: ALLOWLIST,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'silent',
    }),
    { logger: silentLogger() },
  );
  dispatcher = await startDispatcher(
    loadDispatcherConfig({
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      PUBLIC_API_URL: api.url,
      ENDPOINT_ALLOWLIST: ALLOWLIST,
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: '0',
      SHUTDOWN_GRACE_MS: '2000',
      LOG_LEVEL: 'silent',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_LAMBDA: host.url,
    }),
    {
      logger: silentLogger(),
      awsCredentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    },
  );
  client = new BullpenClient({ baseUrl: api.url, token: API_TOKEN });
});

afterAll(async () => {
  await dispatcher?.close();
  await api?.close();
  await host?.close();
  const redis = new Redis(testRedisUrl());
  await cleanupPrefix(redis, prefix);
  redis.disconnect();
});

type EndpointKind = 'lambda' | 'function-url';

/** Registers a worker for `functionName` and runs one job through it to its final state. */
async function runJob(
  kind: EndpointKind,
  functionName: string,
  job: NewJob,
): Promise<{ job: Job; logs: string[]; invocations: number }> {
  const queue = uniqueQueue(`sdk-${kind}`);
  const endpoint =
    kind === 'lambda'
      ? { type: 'lambda' as const, functionName }
      : { type: 'http' as const, url: host.functionUrl(functionName) };
  await client.registerWorker({ queue, endpoint });
  const invocationsBefore = host.invocationCount(functionName);

  const added = await client.addJob(queue, job);
  const finished = await client.waitForJob(queue, added.id, {
    timeoutMs: 20_000,
    pollIntervalMs: 100,
  });
  const { logs } = await client.getJobLogs(queue, added.id);

  await client.removeWorker(queue);
  return {
    job: finished,
    logs,
    invocations: host.invocationCount(functionName) - invocationsBefore,
  };
}

describe.each<EndpointKind>(['lambda', 'function-url'])('handler SDK through %s', (kind) => {
  test('UnrecoverableError fails after one attempt', async () => {
    const { job, logs, invocations } = await runJob(kind, FUNCTIONS.unrecoverable, {
      name: 'unrecoverable',
      opts: RETRIES,
    });

    expect(job.state).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(invocations).toBe(1);
    expect(job.failedReason).toContain('the input can never be processed');
    expect(logs).toEqual(['attempt 1']);
  });

  test('plain error uses every attempt', async () => {
    const { job, logs, invocations } = await runJob(kind, FUNCTIONS.alwaysFails, {
      name: 'always-fails',
      opts: RETRIES,
    });

    expect(job.state).toBe('failed');
    expect(job.attemptsMade).toBe(3);
    expect(invocations).toBe(3);
    expect(job.failedReason).toContain('temporary failure in attempt 3');
    expect(logs).toEqual(['attempt 1', 'attempt 2', 'attempt 3']);
  });

  test('plain error is retried until success', async () => {
    const { job, logs, invocations } = await runJob(kind, FUNCTIONS.flaky, {
      name: 'flaky',
      data: { succeedOnAttempt: 2 },
      opts: RETRIES,
    });

    expect(job.state).toBe('completed');
    expect(job.returnvalue).toEqual({ succeededOnAttempt: 2 });
    expect(job.progress).toEqual({ percent: 100 });
    expect(invocations).toBe(2);
    expect(logs).toEqual(['attempt 1', 'attempt 2']);
  });

  test('invalid data fails after one attempt', async () => {
    const { job, invocations } = await runJob(kind, FUNCTIONS.flaky, {
      name: 'invalid-data',
      data: { succeedOnAttempt: 'second' },
      opts: RETRIES,
    });

    expect(job.state).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(invocations).toBe(1);
    expect(job.failedReason).toContain('data.succeedOnAttempt');
  });
});
