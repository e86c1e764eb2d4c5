import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger } from '@bullpen/core';
import { startPrivateRedis, type PrivateRedis } from '../../../test/support/redis';
import { startRedisProxy, type RedisProxy } from '../../../test/support/redis-proxy';
import { BacklogMetricReporter } from '../src/backlog-metric';

// Stops the backlog metric while Redis sends no reply, as when ECS stops a task cut off from
// its Redis. The stop must not wait for the pending count. A proxy that holds every reply
// plays the silent Redis. test/e2e/dispatcher-processes.test.ts stops a whole dispatcher
// process after Redis has gone, the way ECS stops it.

const PREFIX = 'dispatcher-backlog-metric';
/** Far longer than the stop needs; the wait ends at once when the stop finishes. */
const STOP_WITHIN_MS = 10_000;

let redis: PrivateRedis;
let proxy: RedisProxy;

beforeEach(async () => {
  redis = await startPrivateRedis();
  proxy = await startRedisProxy(redis.port);
});

afterEach(async () => {
  await proxy.close();
  await redis.stop();
});

/** Resolves with the outcome of `stopping`, or with 'timed out' when it takes over `ms`. */
async function outcomeWithin(stopping: Promise<unknown>, ms: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('timed out'), ms);
  });
  const settled = stopping.then(
    () => 'stopped',
    (error: Error) => `failed: ${error.message}`,
  );
  try {
    return await Promise.race([settled, expired]);
  } finally {
    clearTimeout(timer);
  }
}

test('stop abandons a count that waits for Redis', async () => {
  const connection = new Redis(proxy.url, { maxRetriesPerRequest: null });
  const queue = new Queue('backlog-no-redis', { connection, prefix: PREFIX });
  const lines: string[] = [];
  const reporter = new BacklogMetricReporter({
    queues: () => [queue],
    serviceName: 'bullpen-test',
    intervalMs: 60_000,
    write: (line) => lines.push(line),
    clock: { now: () => Date.now() },
    logger: createLogger({ name: 'backlog-test', level: 'silent' }),
  });
  try {
    await queue.waitUntilReady();
    proxy.holdReplies();

    const counting = reporter.report();
    // The count is sent and waits for Redis; without the stop it would never finish.
    expect(await outcomeWithin(counting, 300)).toBe('timed out');

    expect(await outcomeWithin(reporter.stop(), STOP_WITHIN_MS)).toBe('stopped');
    expect(await outcomeWithin(counting, STOP_WITHIN_MS)).toBe('stopped');
    expect(lines).toEqual([]);
  } finally {
    // A quit would wait for a reply that the proxy holds.
    connection.disconnect();
  }
});
