import { Redis } from 'ioredis';
import {
  restartPrivateRedisOnPort,
  startPrivateRedis,
  uniquePrefix,
  type PrivateRedis,
} from '../../../test/support/redis';
import { cleanupsAfterEach } from '../../../test/support/cleanups';
import type { ApiServer } from '../src/server';
import { startLoopbackApi } from './harness';
import { callRoute, type Reply, type RouteCall } from './route-call';
import { startRedisProxy } from '../../../test/support/redis-proxy';

// Runs a real API server on a private redis-server, then stops or pauses that Redis or keeps
// it busy with a long script. The tests check that every route that needs Redis responds
// with 503 quickly, that /health keeps responding, and that the same API process serves
// again once Redis is back. Other tests drop the connection while a batch of commands waits
// for its replies, or flush Redis's scripts while the API runs.

const TOKEN = 'outage-token';
const AUTH = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
/** The bound on each 503 while Redis is away. The API's default Redis timeout is 1500 ms. */
const UNAVAILABLE_WITHIN_MS = 2000;
/** How long the API may take to serve again after Redis returns. */
const RECOVERY_DEADLINE_MS = 15_000;
/** Lua that keeps Redis busy for ARGV[1] ms, measured with TIME. */
const BUSY_LOOP_SCRIPT = `
local start = redis.call('TIME')
local startMs = start[1] * 1000 + start[2] / 1000
repeat
  local now = redis.call('TIME')
until now[1] * 1000 + now[2] / 1000 - startMs >= tonumber(ARGV[1])
return 1`;

function call(server: ApiServer, route: RouteCall): Promise<Reply> {
  return callRoute(server, route, AUTH);
}

/** Returns every route that reads or writes Redis, with a request it would otherwise accept. */
function dataRoutes(queue: string): RouteCall[] {
  return [
    { method: 'GET', path: '/ready', headers: {} },
    {
      method: 'POST',
      path: '/workers',
      body: { queue, endpoint: { url: 'https://203.0.113.10/jobs' } },
    },
    { method: 'GET', path: '/workers' },
    { method: 'DELETE', path: `/workers/${queue}` },
    { method: 'POST', path: `/queues/${queue}/jobs`, body: [{ name: 'n', data: 1 }] },
    { method: 'GET', path: `/queues/${queue}/jobs` },
    { method: 'GET', path: `/queues/${queue}/jobs/1` },
    {
      method: 'POST',
      path: `/queues/${queue}/jobs/1/progress`,
      body: 50,
      headers: { ...AUTH, authorization: 'Bearer some-job-token' },
    },
    {
      method: 'POST',
      path: `/queues/${queue}/jobs/1/logs`,
      body: 'a line',
      headers: { ...AUTH, authorization: 'Bearer some-job-token' },
    },
    { method: 'GET', path: `/queues/${queue}/jobs/1/logs` },
  ];
}

/**
 * Sends every data route at once and checks each response on its own: 503, the JSON error,
 * and no longer than UNAVAILABLE_WITHIN_MS. Returns the slowest response time in ms.
 */
async function expectAllUnavailable(server: ApiServer, queue: string): Promise<number> {
  const routes = dataRoutes(queue);
  const replies = await Promise.all(routes.map((route) => call(server, route)));

  replies.forEach((reply, index) => {
    const route = `${routes[index]?.method} ${routes[index]?.path}`;
    expect({ route, status: reply.status }).toEqual({ route, status: 503 });
    expect({ route, contentType: reply.contentType }).toEqual({
      route,
      contentType: expect.stringContaining('application/json'),
    });
    expect({ route, body: reply.body }).toEqual({
      route,
      body: { error: { code: 'redis_unavailable', message: expect.any(String) } },
    });
    expect({ route, withinBound: reply.elapsedMs <= UNAVAILABLE_WITHIN_MS }).toEqual({
      route,
      withinBound: true,
    });
  });
  return Math.max(...replies.map((reply) => reply.elapsedMs));
}

async function expectHealthy(server: ApiServer): Promise<void> {
  const health = await call(server, { method: 'GET', path: '/health', headers: {} });
  expect(health.status).toBe(200);
  expect(health.body).toEqual({ status: 'ok' });
}

async function waitUntilReady(server: ApiServer): Promise<void> {
  const deadline = Date.now() + RECOVERY_DEADLINE_MS;
  let last: Reply | undefined;
  while (Date.now() < deadline) {
    last = await call(server, { method: 'GET', path: '/ready', headers: {} });
    if (last.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `/ready still returned ${last?.status} ${JSON.stringify(last?.body)} ${RECOVERY_DEADLINE_MS} ms after Redis returned`,
  );
}

/** Uses every data route against the recovered Redis, on a queue first touched in the outage. */
async function expectServing(server: ApiServer, queue: string): Promise<void> {
  const registered = await call(server, dataRoutes(queue)[1] as RouteCall);
  expect(registered.status).toBe(200);
  const listed = await call(server, { method: 'GET', path: '/workers' });
  expect(listed.body).toMatchObject({ [queue]: 'https://203.0.113.10/jobs' });

  const added = await call(server, {
    method: 'POST',
    path: `/queues/${queue}/jobs`,
    body: [{ name: 'after-outage', data: 2 }],
  });
  expect(added.status).toBe(200);
  const id = (added.body as Array<{ id: string }>)[0]?.id;

  const fetched = await call(server, { method: 'GET', path: `/queues/${queue}/jobs/${id}` });
  expect(fetched.status).toBe(200);
  expect(fetched.body).toMatchObject({ name: 'after-outage', state: 'waiting' });
  const listedJobs = await call(server, { method: 'GET', path: `/queues/${queue}/jobs` });
  expect(listedJobs.status).toBe(200);
  const logs = await call(server, { method: 'GET', path: `/queues/${queue}/jobs/${id}/logs` });
  expect(logs.body).toEqual({ logs: [], count: 0 });
  const progress = await call(server, {
    method: 'POST',
    path: `/queues/${queue}/jobs/${id}/progress`,
    body: 1,
    headers: { ...AUTH, authorization: 'Bearer not-the-lock' },
  });
  expect(progress.status).toBe(401);

  const removed = await call(server, { method: 'DELETE', path: `/workers/${queue}` });
  expect(removed.status).toBe(200);
}

/** Reads the redis-server process id from INFO, for sending the process signals. */
async function processIdOf(redis: PrivateRedis): Promise<number> {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    const info = await client.info('server');
    const match = /^process_id:(\d+)/m.exec(info);
    if (!match) throw new Error(`INFO server from ${redis.url} has no process_id`);
    return Number(match[1]);
  } finally {
    client.disconnect();
  }
}

async function startApi(
  redisUrl: string,
  queuePrefix = uniquePrefix('outage'),
): Promise<ApiServer> {
  return startLoopbackApi(queuePrefix, { REDIS_URL: redisUrl, AUTH_TOKENS: TOKEN });
}

/** Opens a client to `redis` for the test's own commands. The test's cleanup closes it. */
function openClient(redis: PrivateRedis): Redis {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  cleanups.push(async () => client.disconnect());
  return client;
}

/** Posts one job named `name` with `data` to `queue`. */
function postJob(server: ApiServer, queue: string, data: unknown, name = 'n'): Promise<Reply> {
  return call(server, { method: 'POST', path: `/queues/${queue}/jobs`, body: [{ name, data }] });
}

const cleanups = cleanupsAfterEach();
const unexpectedErrors: unknown[] = [];
const recordUnexpected = (error: unknown) => unexpectedErrors.push(error);

beforeEach(() => {
  unexpectedErrors.length = 0;
  process.on('unhandledRejection', recordUnexpected);
  process.on('uncaughtException', recordUnexpected);
});

afterEach(() => {
  process.off('unhandledRejection', recordUnexpected);
  process.off('uncaughtException', recordUnexpected);
});

describe('API during a Redis outage', () => {
  test('stopped Redis gives 503, then recovers', async () => {
    const redis = await startPrivateRedis();
    let current: PrivateRedis = redis;
    cleanups.push(() => current.stop());
    const server = await startApi(redis.url);
    cleanups.push(() => server.close());
    await expectServing(server, 'before-outage');

    await redis.stop();
    const slowestMs = await expectAllUnavailable(server, 'during-stop');
    process.stdout.write(`stopped Redis: slowest 503 took ${slowestMs.toFixed(0)} ms\n`);
    await expectHealthy(server);

    current = await restartPrivateRedisOnPort(redis.port);
    await waitUntilReady(server);
    await expectServing(server, 'during-stop');
    await expectHealthy(server);
    expect(unexpectedErrors).toEqual([]);
  }, 60_000);

  test('paused Redis gives 503 in time, then recovers', async () => {
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const pid = await processIdOf(redis);
    const server = await startApi(redis.url);
    cleanups.push(() => server.close());
    await expectServing(server, 'before-pause');

    // SIGSTOP keeps the TCP connection open but unanswered, as a hung or partitioned Redis
    // does, so only the API's own timeouts can end each request.
    process.kill(pid, 'SIGSTOP');
    let paused = true;
    // Registered after the stop, so it runs before the redis.stop() above, because a
    // stopped process does not act on SIGTERM until it continues.
    cleanups.push(async () => {
      if (paused) process.kill(pid, 'SIGCONT');
    });

    const slowestMs = await expectAllUnavailable(server, 'during-pause');
    process.stdout.write(`paused Redis: slowest 503 took ${slowestMs.toFixed(0)} ms\n`);
    await expectHealthy(server);
    const again = await expectAllUnavailable(server, 'during-pause');
    process.stdout.write(`paused Redis, second round: slowest 503 took ${again.toFixed(0)} ms\n`);

    process.kill(pid, 'SIGCONT');
    paused = false;
    await waitUntilReady(server);
    await expectServing(server, 'during-pause');
    expect(unexpectedErrors).toEqual([]);
  }, 60_000);

  test('busy script gives 503, then recovers', async () => {
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const server = await startApi(redis.url);
    cleanups.push(() => server.close());
    const admin = openClient(redis);
    const scriptClient = openClient(redis);
    await expectServing(server, 'before-busy');

    // Once a script has run longer than busy-reply-threshold, Redis replies BUSY to the API's
    // commands until the script ends. The default threshold is 5 s.
    await admin.config('SET', 'busy-reply-threshold', '100');
    const script = scriptClient.eval(BUSY_LOOP_SCRIPT, 0, '2000');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const slowestMs = await expectAllUnavailable(server, 'during-busy');
    process.stdout.write(`busy Redis: slowest 503 took ${slowestMs.toFixed(0)} ms\n`);
    await expectHealthy(server);

    await expect(script).resolves.toBe(1);
    await waitUntilReady(server);
    await expectServing(server, 'during-busy');
    expect(unexpectedErrors).toEqual([]);
  }, 60_000);

  test('queue first used during a pause works after it', async () => {
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const pid = await processIdOf(redis);
    const server = await startApi(redis.url);
    cleanups.push(() => server.close());
    const addJob = { method: 'POST', path: '/queues/new-in-pause/jobs', body: [{ name: 'n' }] };

    process.kill(pid, 'SIGSTOP');
    let paused = true;
    cleanups.push(async () => {
      if (paused) process.kill(pid, 'SIGCONT');
    });
    const during = await call(server, addJob);
    process.kill(pid, 'SIGCONT');
    paused = false;
    await waitUntilReady(server);
    const after = await call(server, addJob);

    expect(during.status).toBe(503);
    expect(after.status).toBe(200);
  }, 60_000);

  test('connection lost mid-pipeline gives 503', async () => {
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const proxy = await startRedisProxy(redis.port);
    cleanups.push(() => proxy.close());
    const server = await startApi(proxy.url);
    cleanups.push(() => server.close());
    const addJob = (n: number) => postJob(server, 'cut', n);
    expect((await addJob(0)).status).toBe(200);

    // While the reply to the first post is held, the next posts wait behind it and go out
    // together as one pipeline. Redis runs that pipeline, but the connection closes after
    // the reply to its first command, so ioredis aborts the commands after it.
    proxy.holdReplies();
    const first = addJob(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const rest = [2, 3, 4, 5, 6].map(addJob);
    await new Promise((resolve) => setTimeout(resolve, 200));
    proxy.closeAfterReplies(2);
    const replies = await Promise.all([first, ...rest]);
    const statuses = replies.map((reply) => reply.status);
    process.stdout.write(`connection lost mid-pipeline: statuses ${statuses.join(' ')}\n`);

    // A 503 shows that the connection closed inside the pipeline, not between pipelines.
    expect(statuses).toContain(503);
    replies.forEach((reply, index) => {
      const n = index + 1;
      expect({ n, status: reply.status }).toEqual({
        n,
        status: reply.status === 200 ? 200 : 503,
      });
      if (reply.status === 503) {
        expect({ n, retryAfter: reply.retryAfter }).toEqual({ n, retryAfter: '1' });
        expect({ n, body: reply.body }).toEqual({
          n,
          body: { error: { code: 'redis_unavailable', message: expect.any(String) } },
        });
      }
      expect({ n, withinBound: reply.elapsedMs <= UNAVAILABLE_WITHIN_MS }).toEqual({
        n,
        withinBound: true,
      });
    });
    await waitUntilReady(server);
    for (const [index, reply] of replies.entries()) {
      if (reply.status !== 200) continue;
      const id = (reply.body as Array<{ id: string }>)[0]?.id;
      const stored = await call(server, { method: 'GET', path: `/queues/cut/jobs/${id}` });
      expect(stored.body).toMatchObject({ id, data: index + 1 });
    }
    expect(unexpectedErrors).toEqual([]);
  }, 60_000);

  test('batch cut before its replies runs once', async () => {
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const proxy = await startRedisProxy(redis.port);
    cleanups.push(() => proxy.close());
    const prefix = uniquePrefix('outage');
    const server = await startApi(proxy.url, prefix);
    cleanups.push(() => server.close());
    const admin = openClient(redis);
    const addJob = (n: number) => postJob(server, 'resent', n);
    expect((await addJob(0)).status).toBe(200);

    // Redis runs the adds sent before the cut, but the connection closes before any reply
    // reaches the API. Sending them again after the reconnect would add those jobs twice.
    proxy.holdReplies();
    const pending = Promise.all([1, 2, 3, 4, 5].map(addJob));
    await new Promise((resolve) => setTimeout(resolve, 200));
    proxy.closeAfterReplies(0);
    const replies = await pending;
    await waitUntilReady(server);

    const stored = await admin.lrange(`${prefix}:resent:wait`, 0, -1);
    const data = await Promise.all(
      stored.map((id) => admin.hget(`${prefix}:resent:${id}`, 'data')),
    );
    // Redis may have run some of the adds that got 503, but none of them twice.
    expect(data.map(Number).sort()).toEqual([...new Set(data.map(Number))].sort());
    expect(data).toContain('0');
    // Without a stored add among 1 to 5, the cut came before Redis ran any of them, and the
    // duplicate check above could not fail.
    expect(data.length).toBeGreaterThan(1);
    replies.forEach((reply, index) => {
      const n = index + 1;
      expect({ n, status: reply.status }).toEqual({ n, status: 503 });
      expect({ n, retryAfter: reply.retryAfter }).toEqual({ n, retryAfter: '1' });
      expect({ n, withinBound: reply.elapsedMs <= UNAVAILABLE_WITHIN_MS }).toEqual({
        n,
        withinBound: true,
      });
    });
    expect(unexpectedErrors).toEqual([]);
  }, 60_000);

  test('scripts flushed mid-run load again', async () => {
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const prefix = uniquePrefix('outage');
    const server = await startApi(redis.url, prefix);
    cleanups.push(() => server.close());
    const admin = openClient(redis);
    const addJobs = (name: string) =>
      Promise.all(Array.from({ length: 20 }, (_, n) => postJob(server, 'flushed', n, name)));
    const before = await addJobs('before');
    expect(before.map((reply) => reply.status)).toEqual(before.map(() => 200));
    const lockedId = (before[0]?.body as Array<{ id: string }>)[0]?.id;
    await admin.set(`${prefix}:flushed:${lockedId}:lock`, 'lock-token');

    // After SCRIPT FLUSH, EVALSHA fails with NOSCRIPT, so ioredis must send each script's
    // source again and retry the failed commands, for BullMQ's scripts and the API's own.
    await admin.script('FLUSH');
    const [after, registered, progress] = await Promise.all([
      addJobs('after'),
      call(server, dataRoutes('flushed')[1] as RouteCall),
      call(server, {
        method: 'POST',
        path: `/queues/flushed/jobs/${lockedId}/progress`,
        body: 50,
        headers: { ...AUTH, authorization: 'Bearer lock-token' },
      }),
    ]);

    expect(after.map((reply) => reply.status)).toEqual(after.map(() => 200));
    expect(after.map((reply) => (reply.body as Array<{ data: number }>)[0]?.data)).toEqual(
      after.map((_, n) => n),
    );
    expect(registered.status).toBe(200);
    expect(progress.status).toBe(200);
    await expect(admin.hget(`${prefix}:flushed:${lockedId}`, 'progress')).resolves.toBe('50');
    const errorStats = await admin.info('errorstats');
    expect(errorStats).toMatch(/^errorstat_NOSCRIPT:count=\d+/m);
    expect(unexpectedErrors).toEqual([]);
  }, 60_000);

  test('API started without Redis serves once Redis starts', async () => {
    // Start a Redis to learn a free port, then stop it.
    const probe = await startPrivateRedis();
    await probe.stop();
    const server = await startApi(probe.url);
    cleanups.push(() => server.close());

    await expectHealthy(server);
    const slowestMs = await expectAllUnavailable(server, 'before-start');
    process.stdout.write(`Redis not started: slowest 503 took ${slowestMs.toFixed(0)} ms\n`);

    const redis = await restartPrivateRedisOnPort(probe.port);
    cleanups.push(() => redis.stop());
    await waitUntilReady(server);
    await expectServing(server, 'before-start');
    expect(unexpectedErrors).toEqual([]);
  }, 60_000);

  test('failover to a new primary serves again', async () => {
    const oldPrimary = await startPrivateRedis();
    cleanups.push(() => oldPrimary.stop());
    const newPrimary = await startPrivateRedis();
    cleanups.push(() => newPrimary.stop());
    const proxy = await startRedisProxy(oldPrimary.port);
    cleanups.push(() => proxy.close());
    const prefix = uniquePrefix('outage');
    const server = await startApi(proxy.url, prefix);
    cleanups.push(() => server.close());
    expect((await postJob(server, 'failover', 'before')).status).toBe(200);

    // As in a failover: the old primary becomes a replica of the new one, and the address
    // the API connects to now leads to the new primary. The API's open connection stays on
    // the old one.
    const demoted = openClient(oldPrimary);
    await demoted.replicaof('127.0.0.1', String(newPrimary.port));
    const linkDeadline = Date.now() + RECOVERY_DEADLINE_MS;
    while (!/master_link_status:up/.test(await demoted.info('replication'))) {
      if (Date.now() > linkDeadline) throw new Error('the replica never linked to its primary');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    proxy.retarget(newPrimary.port);

    const replies: Reply[] = [];
    const deadline = Date.now() + RECOVERY_DEADLINE_MS;
    while (replies.at(-1)?.status !== 200 && Date.now() < deadline) {
      replies.push(await postJob(server, 'failover', 'after'));
      if (replies.at(-1)?.status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const statuses = replies.map((reply) => reply.status);
    expect(statuses.at(-1)).toBe(200);
    expect(statuses.filter((status) => status !== 200 && status !== 503)).toEqual([]);
    const stored = openClient(newPrimary);
    await expect(stored.llen(`${prefix}:failover:wait`)).resolves.toBe(1);
    expect(unexpectedErrors).toEqual([]);
  }, 60_000);
});
