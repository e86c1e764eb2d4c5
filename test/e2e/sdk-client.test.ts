import net from 'node:net';
import { loadApiConfig, startApiServer, type ApiServer } from '@bullpen/api';
import {
  BullpenApiError,
  BullpenClient,
  BullpenConnectionError,
  JobWaitTimeoutError,
} from '@bullpen/client';
import { silentLogger } from '@bullpen/core';
import { Worker, type Job as BullJob } from 'bullmq';
import { Redis } from 'ioredis';
import { cleanupPrefix, testRedisUrl, uniquePrefix, uniqueQueue } from '../support/redis';

const API_TOKEN = 'client-test-token';

let prefix: string;
let redis: Redis;
let api: ApiServer;
let client: BullpenClient;
const workers: Worker[] = [];
const workerConnections: Redis[] = [];

beforeAll(async () => {
  prefix = uniquePrefix('sdk-client');
  redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const config = loadApiConfig({
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: prefix,
    AUTH_TOKENS: API_TOKEN,
    ENDPOINT_ALLOWLIST: '127.0.0.0/8',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
  });
  api = await startApiServer(config, { logger: silentLogger() });
  client = new BullpenClient({ baseUrl: api.url, token: API_TOKEN });
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.close()));
  // BullMQ leaves a connection passed in open, since the caller may share it.
  for (const connection of workerConnections.splice(0)) connection.disconnect();
});

afterAll(async () => {
  await api.close();
  await cleanupPrefix(redis, prefix);
  redis.disconnect();
});

/** Starts a BullMQ worker on the test prefix that runs `processor` with the job's lock token. */
function startWorker(queue: string, processor: (job: BullJob, token: string) => Promise<unknown>) {
  const connection = redis.duplicate();
  workerConnections.push(connection);
  const worker = new Worker(queue, (job, token) => processor(job, token ?? ''), {
    connection,
    prefix,
  });
  worker.on('error', () => undefined);
  workers.push(worker);
  return worker;
}

async function closedPortUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
}

describe('BullpenClient health', () => {
  test('reports health and readiness', async () => {
    expect(await client.health()).toEqual({ status: 'ok' });
    expect(await client.ready()).toEqual({ status: 'ready' });
  });
});

describe('BullpenClient workers', () => {
  test('registers, lists and removes a worker', async () => {
    const queue = uniqueQueue('client-workers');

    await client.registerWorker({
      queue,
      endpoint: { url: 'http://127.0.0.1:9/jobs', headers: { 'x-secret': 'hidden' } },
      opts: { concurrency: 2 },
    });
    const listed = await client.listWorkers();
    await client.removeWorker(queue);
    const afterRemoval = await client.listWorkers();

    expect(listed[queue]).toBe('http://127.0.0.1:9/jobs');
    expect(afterRemoval[queue]).toBeUndefined();
  });

  test('rejects removing an unknown worker with 404', async () => {
    const failure = await failureOf(client.removeWorker(uniqueQueue('client-none')));

    expect(failure).toBeInstanceOf(BullpenApiError);
    expect((failure as BullpenApiError).status).toBe(404);
    expect((failure as BullpenApiError).code).toBe('not_found');
  });

  test('reports validation issues of a registration', async () => {
    const failure = (await failureOf(
      client.registerWorker({
        queue: uniqueQueue('client-invalid'),
        endpoint: { url: 'http://127.0.0.1:9/jobs', timeout: -5 },
      }),
    )) as BullpenApiError;

    expect(failure).toBeInstanceOf(BullpenApiError);
    expect(failure.status).toBe(400);
    expect(failure.code).toBe('validation_failed');
    expect(failure.issues.map((issue) => issue.path)).toContain('endpoint.timeout');
  });

  test('rejects a wrong API token with 401', async () => {
    const stranger = new BullpenClient({ baseUrl: api.url, token: 'wrong' });

    const failure = (await failureOf(stranger.listWorkers())) as BullpenApiError;

    expect(failure).toBeInstanceOf(BullpenApiError);
    expect(failure.status).toBe(401);
    expect(failure.message).not.toContain('wrong');
  });
});

describe('BullpenClient jobs', () => {
  test('adds jobs and reads them back', async () => {
    const queue = uniqueQueue('client-jobs');

    const added = await client.addJobs(queue, [
      { name: 'first', data: { n: 1 } },
      { name: 'second', data: 0, opts: { attempts: 3 } },
    ]);
    const second = await client.getJob(queue, added[1]!.id);

    expect(added.map((job) => job.name)).toEqual(['first', 'second']);
    expect(second.data).toBe(0);
    expect(second.opts.attempts).toBe(3);
    expect(second.state).toBe('waiting');
  });

  test('marks an existing job id as duplicate', async () => {
    const queue = uniqueQueue('client-dup');

    const first = await client.addJob(queue, { name: 'once', opts: { jobId: 'report-a' } });
    const again = await client.addJob(queue, { name: 'once', opts: { jobId: 'report-a' } });

    expect(first.duplicate).toBeUndefined();
    expect(again.duplicate).toBe(true);
    expect(again.id).toBe('report-a');
  });

  test('lists jobs by state with counts', async () => {
    const queue = uniqueQueue('client-list');
    await client.addJobs(queue, [
      { name: 'a' },
      { name: 'b' },
      { name: 'c', opts: { delay: 60_000 } },
    ]);

    const waiting = await client.listJobs(queue, { statuses: ['waiting'], length: 1 });
    const all = await client.listJobs(queue);

    expect(waiting.jobs).toHaveLength(1);
    expect(waiting.counts.waiting).toBe(2);
    expect(waiting.length).toBe(1);
    expect(all.counts.delayed).toBe(1);
    expect(all.jobs).toHaveLength(3);
  });

  test('encodes queue names with braces and spaces', async () => {
    const queue = `{tenant} ${uniqueQueue('client-encode')}`;

    const job = await client.addJob(queue, { name: 'encoded' });

    expect((await client.getJob(queue, job.id)).name).toBe('encoded');
  });

  test('rejects an unknown job with 404', async () => {
    const failure = (await failureOf(
      client.getJob(uniqueQueue('client-missing'), 'nope'),
    )) as BullpenApiError;

    expect(failure.status).toBe(404);
    expect(failure.code).toBe('not_found');
  });

  test('rejects invalid job options with their path', async () => {
    const failure = (await failureOf(
      client.addJob(uniqueQueue('client-badjob'), { name: 'x', opts: { attempts: 0 } }),
    )) as BullpenApiError;

    expect(failure.status).toBe(400);
    expect(failure.issues[0]?.path).toContain('attempts');
  });
});

describe('BullpenClient job callbacks', () => {
  test('updates progress and logs with the job token', async () => {
    const queue = uniqueQueue('client-callbacks');
    startWorker(queue, async (job, token) => {
      await client.updateProgress(queue, job.id!, token, { percent: 40 });
      await client.addJobLog(queue, job.id!, token, 'first line');
      await client.addJobLog(queue, job.id!, token, 'second line');
      return 'done';
    });

    const added = await client.addJob(queue, { name: 'with-callbacks' });
    const finished = await client.waitForJob(queue, added.id, { timeoutMs: 10_000 });
    const logs = await client.getJobLogs(queue, added.id);

    expect(finished.state).toBe('completed');
    expect(finished.returnvalue).toBe('done');
    expect(finished.progress).toEqual({ percent: 40 });
    expect(logs).toEqual({ logs: ['first line', 'second line'], count: 2 });
  });

  test('reads a window of log lines', async () => {
    const queue = uniqueQueue('client-logwindow');
    startWorker(queue, async (job, token) => {
      for (const line of ['a', 'b', 'c', 'd']) await client.addJobLog(queue, job.id!, token, line);
    });

    const added = await client.addJob(queue, { name: 'lines' });
    await client.waitForJob(queue, added.id, { timeoutMs: 10_000 });

    expect(await client.getJobLogs(queue, added.id, { start: 1, length: 2 })).toEqual({
      logs: ['b', 'c'],
      count: 4,
    });
  });

  test('rejects a callback with a wrong job token', async () => {
    const queue = uniqueQueue('client-badtoken');
    let failure: unknown;
    startWorker(queue, async (job) => {
      failure = await client
        .updateProgress(queue, job.id!, 'not-the-lock', 10)
        .catch((error: unknown) => error);
    });

    const added = await client.addJob(queue, { name: 'bad-token' });
    await client.waitForJob(queue, added.id, { timeoutMs: 10_000 });

    expect(failure).toBeInstanceOf(BullpenApiError);
    expect((failure as BullpenApiError).status).toBe(401);
  });

  test('returns a failed job from waitForJob', async () => {
    const queue = uniqueQueue('client-failed');
    startWorker(queue, async () => {
      throw new Error('no luck');
    });

    const added = await client.addJob(queue, { name: 'fails' });
    const finished = await client.waitForJob(queue, added.id, { timeoutMs: 10_000 });

    expect(finished.state).toBe('failed');
    expect(finished.failedReason).toBe('no luck');
  });

  test('times out waiting for a job nobody processes', async () => {
    const queue = uniqueQueue('client-wait');
    const added = await client.addJob(queue, { name: 'idle' });

    const failure = (await failureOf(
      client.waitForJob(queue, added.id, { timeoutMs: 300, pollIntervalMs: 50 }),
    )) as JobWaitTimeoutError;

    expect(failure).toBeInstanceOf(JobWaitTimeoutError);
    expect(failure.lastState).toBe('waiting');
  });
});

describe('BullpenClient connection failures', () => {
  test('raise BullpenConnectionError when nothing listens', async () => {
    const offline = new BullpenClient({ baseUrl: await closedPortUrl(), token: API_TOKEN });

    const failure = (await failureOf(offline.health())) as BullpenConnectionError;

    expect(failure).toBeInstanceOf(BullpenConnectionError);
    expect(failure.message).toContain('ECONNREFUSED');
  });

  test('reject an invalid base URL at construction', () => {
    expect(() => new BullpenClient({ baseUrl: 'ftp://example.test' })).toThrow(/http or https/);
    expect(() => new BullpenClient({ baseUrl: 'not a url' })).toThrow(/Invalid baseUrl/);
  });
});
