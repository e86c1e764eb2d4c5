import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startPrivateRedis, type PrivateRedis } from '../../../test/support/redis';
import { FETCH_RETRY_DELAY_MS } from '../src/dispatch-worker';
import type { Dispatcher } from '../src';
import {
  respondOk,
  startEndpointServer,
  waitFor,
  type EndpointServer,
} from './support/endpoint-server';
import { memoryLogger, register, sleep, startTestDispatcher } from './support/test-dispatcher';

// Starts a dispatcher on a private redis-server that is out of memory, so Redis rejects
// every move of a waiting job to active. The worker must wait between its tries instead of
// retrying at once, and must run every job once memory is back.

const PREFIX = 'dispatcher-memory';
const QUEUE = 'full';
const JOB_COUNT = 20;
/** How long the test watches the worker's tries while Redis is full. */
const WATCH_MS = 3_000;

let redis: PrivateRedis;
let admin: Redis;
let queue: Queue;
let endpoint: EndpointServer;
let dispatcher: Dispatcher | undefined;

beforeAll(async () => {
  redis = await startPrivateRedis();
  admin = new Redis(redis.url, { maxRetriesPerRequest: null });
  queue = new Queue(QUEUE, { connection: admin, prefix: PREFIX });
  endpoint = await startEndpointServer(respondOk);
});

afterAll(async () => {
  await dispatcher?.close();
  await queue.close();
  await endpoint.close();
  admin.disconnect();
  await redis.stop();
});

/** Reads how many EVALSHA calls Redis has rejected or seen fail since it started. */
async function failedScriptCalls(): Promise<number> {
  const stats = await admin.info('commandstats');
  const line = stats.split('\r\n').find((entry) => entry.startsWith('cmdstat_evalsha:'));
  const failed = /failed_calls=(\d+)/.exec(line ?? '');
  const rejected = /rejected_calls=(\d+)/.exec(line ?? '');
  return Number(failed?.[1] ?? 0) + Number(rejected?.[1] ?? 0);
}

test('fetch waits while Redis is full', async () => {
  await register(admin, PREFIX, { queue: QUEUE, endpoint: { url: `${endpoint.url}/run` } });
  await queue.addBulk(
    Array.from({ length: JOB_COUNT }, (_, index) => ({ name: 'waiting', data: { index } })),
  );
  await admin.config('SET', 'maxmemory', '1');

  const { logger, lines } = memoryLogger();
  dispatcher = await startTestDispatcher(PREFIX, { REDIS_URL: redis.url }, { logger });
  await waitFor(async () => (await failedScriptCalls()) > 0, 10_000, 'a rejected fetch');
  const failedBefore = await failedScriptCalls();
  await sleep(WATCH_MS);
  const failedDuring = (await failedScriptCalls()) - failedBefore;

  // One try per wait, with room for the stalled-job check and a slow machine. Without the
  // wait, BullMQ tried several thousand times a second.
  const allowedTries = 2 * Math.ceil(WATCH_MS / FETCH_RETRY_DELAY_MS) + 2;
  expect(failedDuring).toBeGreaterThan(0);
  expect(failedDuring).toBeLessThanOrEqual(allowedTries);
  expect(endpoint.calls).toHaveLength(0);
  // The error line names the rejected command but leaves out its arguments, which carry job
  // options and data.
  const errorLine = lines.find((line) => line.msg === 'worker error');
  expect(errorLine?.err).toMatchObject({ command: expect.stringMatching(/^eval(sha)?$/) });

  await admin.config('SET', 'maxmemory', '0');
  await waitFor(
    async () => (await queue.getJobCounts('completed')).completed === JOB_COUNT,
    15_000,
    'every job to complete',
  );
  const indexes = endpoint.calls.map((call) => call.body.job.data.index as number);
  expect(indexes.sort((a, b) => a - b)).toEqual([...Array(JOB_COUNT).keys()]);
});
