import { Redis } from 'ioredis';
import { startPrivateRedis, type PrivateRedis } from '../../../test/support/redis';
import { cleanupsAfterEach } from '../../../test/support/cleanups';
import type { ApiServer, ApiServerOptions } from '../src/server';
import { startLoopbackApi } from './harness';
import { captureLogger } from './capture-logger';
import { callRoute, type Reply, type RouteCall } from './route-call';

// Runs a real API server on a private redis-server whose `maxmemory` the tests lower, so Redis
// rejects writes with OOM while it still serves reads. Other tests count the warn lines the
// API writes for many 503s in a row.

const TOKEN = 'memory-token';
const AUTH = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const QUEUE_PREFIX = 'memory';
/** The Retry-After value, in seconds, of an out-of-memory 503. */
const OUT_OF_MEMORY_RETRY_AFTER = '30';
const OUT_OF_MEMORY_BODY = {
  error: { code: 'redis_out_of_memory', message: expect.stringContaining('out of memory') },
};

function call(server: ApiServer, route: RouteCall): Promise<Reply> {
  return callRoute(server, route, AUTH);
}

function postJobs(server: ApiServer, queue: string, jobs: unknown[]): Promise<Reply> {
  return call(server, { method: 'POST', path: `/queues/${queue}/jobs`, body: jobs });
}

/** Returns the id of the one job a successful post of a single job created. */
function firstJobId(reply: Reply): string {
  expect(reply.status).toBe(200);
  return (reply.body as Array<{ id: string }>)[0]?.id as string;
}

/** Lines with message `message`, each reduced to the fields the rate limit sets. */
function warnLines(lines: Array<Record<string, unknown>>, message: string) {
  return lines
    .filter((line) => line.msg === message)
    .map((line) => ({
      level: line.level,
      errorMessage: (line.err as { message?: string } | undefined)?.message,
      suppressedCount: line.suppressedCount,
      intervalMs: line.intervalMs,
    }));
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function usedMemoryBytes(admin: Redis): Promise<number> {
  const match = /^used_memory:(\d+)/m.exec(await admin.info('memory'));
  if (!match) throw new Error('INFO memory has no used_memory field');
  return Number(match[1]);
}

const cleanups = cleanupsAfterEach();

/** Starts a private Redis, an API server on it and an admin client for the test's commands. */
async function startStack(
  options: ApiServerOptions = {},
): Promise<{ redis: PrivateRedis; server: ApiServer; admin: Redis }> {
  const redis = await startPrivateRedis();
  cleanups.push(() => redis.stop());
  const server = await startLoopbackApi(
    QUEUE_PREFIX,
    { REDIS_URL: redis.url, AUTH_TOKENS: TOKEN },
    options,
  );
  cleanups.push(() => server.close());
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  cleanups.push(async () => admin.disconnect());
  return { redis, server, admin };
}

/** Builds a registration of `queue` with an endpoint the tests never call. */
function workerRegistration(queue: string): unknown {
  return { queue, endpoint: { url: 'https://203.0.113.10/jobs' } };
}

function registerWorker(server: ApiServer, queue: string): Promise<Reply> {
  return call(server, { method: 'POST', path: '/workers', body: workerRegistration(queue) });
}

/** Makes Redis reject every write: used memory is always above one byte. */
async function fillRedis(admin: Redis): Promise<void> {
  await admin.config('SET', 'maxmemory', '1');
}

describe('API while Redis is out of memory', () => {
  test('write routes give 503 out of memory', async () => {
    const { server, admin } = await startStack();
    expect((await registerWorker(server, 'q')).status).toBe(200);
    const id = firstJobId(await postJobs(server, 'q', [{ name: 'before', data: 1 }]));
    // The job is active under this lock token, so progress and log callbacks reach the write.
    await admin.set(`${QUEUE_PREFIX}:q:${id}:lock`, 'lock-token');
    const callbackHeaders = { ...AUTH, authorization: 'Bearer lock-token' };

    await fillRedis(admin);
    const writes: RouteCall[] = [
      { method: 'POST', path: '/queues/q/jobs', body: [{ name: 'single', data: 2 }] },
      { method: 'POST', path: '/queues/never-used/jobs', body: [{ name: 'single', data: 3 }] },
      {
        method: 'POST',
        path: '/queues/q/jobs',
        body: [{ name: 'repeating', opts: { repeat: { every: 60_000 } } }],
      },
      { method: 'POST', path: '/workers', body: workerRegistration('other') },
      { method: 'POST', path: `/queues/q/jobs/${id}/progress`, body: 50, headers: callbackHeaders },
      {
        method: 'POST',
        path: `/queues/q/jobs/${id}/logs`,
        body: 'a line',
        headers: callbackHeaders,
      },
    ];
    for (const route of writes) {
      const reply = await call(server, route);
      const name = `${route.method} ${route.path}`;
      expect({ name, status: reply.status }).toEqual({ name, status: 503 });
      expect({ name, retryAfter: reply.retryAfter }).toEqual({
        name,
        retryAfter: OUT_OF_MEMORY_RETRY_AFTER,
      });
      expect({ name, body: reply.body }).toEqual({ name, body: OUT_OF_MEMORY_BODY });
    }
    await expect(admin.lrange(`${QUEUE_PREFIX}:q:wait`, 0, -1)).resolves.toEqual([id]);
  }, 30_000);

  test('bulk post gives 503, then 200 after maxmemory rises', async () => {
    const { server, admin } = await startStack();
    expect((await postJobs(server, 'bulk', [{ name: 'first' }])).status).toBe(200);
    const jobs = Array.from({ length: 100 }, (_, n) => ({
      name: 'bulk',
      data: { n, padding: 'x'.repeat(10_000) },
      opts: { jobId: `bulk-${n}` },
    }));

    // Room for about half of the 10 KB jobs, so Redis rejects the bulk part-way through.
    // Eight runs on Redis 7.0.15 added 39 to 48 of them.
    await admin.config('SET', 'maxmemory', String((await usedMemoryBytes(admin)) + 500_000));
    const rejected = await postJobs(server, 'bulk', jobs);
    expect(rejected.status).toBe(503);
    expect(rejected.retryAfter).toBe(OUT_OF_MEMORY_RETRY_AFTER);
    expect(rejected.body).toEqual(OUT_OF_MEMORY_BODY);
    const addedBefore = (await admin.llen(`${QUEUE_PREFIX}:bulk:wait`)) - 1;
    process.stdout.write(`bulk post under maxmemory: ${addedBefore} of 100 jobs added\n`);
    // The 503 message promises that the jobs before the rejection stay added.
    expect(addedBefore).toBeGreaterThan(0);
    expect(addedBefore).toBeLessThan(100);

    await admin.config('SET', 'maxmemory', '0');
    const retried = await postJobs(server, 'bulk', jobs);
    expect(retried.status).toBe(200);
    const returned = retried.body as Array<{ id: string; duplicate?: true }>;
    expect(returned.map((job) => job.id)).toEqual(jobs.map((job) => job.opts.jobId));
    expect(returned.filter((job) => job.duplicate).length).toBe(addedBefore);
    await expect(admin.llen(`${QUEUE_PREFIX}:bulk:wait`)).resolves.toBe(101);
  }, 30_000);

  test('reads still work while Redis is full', async () => {
    const { server, admin } = await startStack();
    expect((await registerWorker(server, 'q')).status).toBe(200);
    const id = firstJobId(await postJobs(server, 'q', [{ name: 'stored', data: 7 }]));
    await admin.rpush(`${QUEUE_PREFIX}:q:${id}:logs`, 'line one', 'line two');

    await fillRedis(admin);
    expect((await postJobs(server, 'q', [{ name: 'rejected' }])).status).toBe(503);

    const job = await call(server, { method: 'GET', path: `/queues/q/jobs/${id}` });
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({ id, name: 'stored', data: 7, state: 'waiting' });
    const logs = await call(server, { method: 'GET', path: `/queues/q/jobs/${id}/logs` });
    expect(logs.status).toBe(200);
    expect(logs.body).toEqual({ logs: ['line one', 'line two'], count: 2 });
    const list = await call(server, { method: 'GET', path: '/queues/q/jobs' });
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ counts: { waiting: 1 }, jobs: [{ id }] });
    const workers = await call(server, { method: 'GET', path: '/workers' });
    expect(workers.status).toBe(200);
    expect(workers.body).toEqual({ q: 'https://203.0.113.10/jobs' });
    const ready = await call(server, { method: 'GET', path: '/ready', headers: {} });
    expect(ready.status).toBe(200);
  }, 30_000);
});

describe('API warn lines for Redis 503s', () => {
  test('out-of-memory lines are rate-limited', async () => {
    const { logger, lines } = captureLogger();
    const intervalMs = 1000;
    const { server, admin } = await startStack({ logger, redisWarnIntervalMs: intervalMs });
    await fillRedis(admin);

    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, n) => postJobs(server, 'q', [{ name: 'n', data: n }])),
    );
    expect(replies.map((reply) => reply.status)).toEqual(replies.map(() => 503));
    expect(warnLines(lines, 'redis out of memory')).toEqual([
      {
        level: 40,
        errorMessage: expect.stringContaining('OOM command not allowed'),
        suppressedCount: undefined,
        intervalMs: undefined,
      },
    ]);

    // When the interval ends, one line counts the other 19 requests.
    await waitFor(
      () => warnLines(lines, 'redis out of memory').length > 1,
      intervalMs * 3,
      'the line with the suppressed count',
    );
    expect(warnLines(lines, 'redis out of memory')[1]).toEqual({
      level: 40,
      errorMessage: undefined,
      suppressedCount: 19,
      intervalMs,
    });

    // After an interval without 503s, the next one is logged at once with its error.
    await new Promise((resolve) => setTimeout(resolve, intervalMs * 1.5));
    expect((await postJobs(server, 'q', [{ name: 'later' }])).status).toBe(503);
    const after = warnLines(lines, 'redis out of memory');
    expect(after.length).toBe(3);
    expect(after[2]?.errorMessage).toEqual(expect.stringContaining('OOM command not allowed'));
  }, 30_000);

  test('out-of-memory lines leave out command arguments', async () => {
    const { logger, lines } = captureLogger();
    const intervalMs = 50;
    const { server, admin } = await startStack({ logger, redisWarnIntervalMs: intervalMs });
    await fillRedis(admin);
    const headerValue = 'header-value-never-logged';
    const dataMarker = 'job-data-never-logged';

    const registration = {
      queue: 'q',
      endpoint: { url: 'https://203.0.113.10/jobs', headers: { 'x-api-key': headerValue } },
    };
    const registered = await call(server, { method: 'POST', path: '/workers', body: registration });
    expect(registered.status).toBe(503);
    // After an interval without 503s, the next one is logged with its error too.
    await new Promise((resolve) => setTimeout(resolve, intervalMs * 4));
    expect((await postJobs(server, 'q', [{ name: 'n', data: dataMarker }])).status).toBe(503);

    const logged = warnLines(lines, 'redis out of memory');
    expect(logged.map((line) => line.errorMessage)).toEqual([
      expect.stringContaining('OOM command not allowed'),
      expect.stringContaining('OOM command not allowed'),
    ]);
    const linesWith = (value: string) =>
      lines.filter((line) => JSON.stringify(line).includes(value)).map((line) => line.msg);
    expect(linesWith(headerValue)).toEqual([]);
    expect(linesWith(dataMarker)).toEqual([]);
  }, 30_000);

  test('unavailable lines are rate-limited and flushed on close', async () => {
    const { logger, lines } = captureLogger();
    // Longer than the test, so only close() can write the suppressed count.
    const { redis, server, admin } = await startStack({ logger, redisWarnIntervalMs: 60_000 });
    // Closed while Redis runs, so that its disconnect does not wait on a dead socket.
    admin.disconnect();
    await redis.stop();

    const replies = await Promise.all(
      Array.from({ length: 20 }, () => call(server, { method: 'GET', path: '/workers' })),
    );
    expect(replies.map((reply) => reply.status)).toEqual(replies.map(() => 503));
    expect(warnLines(lines, 'redis unavailable').length).toBe(1);

    await server.close();
    expect(warnLines(lines, 'redis unavailable')).toEqual([
      expect.objectContaining({ level: 40, suppressedCount: undefined }),
      { level: 40, errorMessage: undefined, suppressedCount: 19, intervalMs: 60_000 },
    ]);
  }, 30_000);
});
