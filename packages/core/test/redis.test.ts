import { Redis } from 'ioredis';
import { startReadOnlyReplica } from '../../../test/support/redis';
import { cleanupsAfterEach } from '../../../test/support/cleanups';
import { READONLY_RECONNECT_INTERVAL_MS, createRedis } from '../src/redis';

const cleanups = cleanupsAfterEach();

/** Starts a read-only replica for this test and returns its URL. */
async function startReplicaUrl(): Promise<string> {
  const replica = await startReadOnlyReplica();
  cleanups.push(() => replica.stop());
  return replica.url;
}

/** Opens a connection through createRedis and counts the reconnects ioredis starts. */
async function openCountingReconnects(
  url: string,
): Promise<{ redis: Redis; reconnects: () => number }> {
  const { hostname, port } = new URL(url);
  const redis = createRedis(
    { url, host: hostname, port: Number(port), tls: false },
    { maxRetriesPerRequest: 0, retryStrategy: () => 50 },
  );
  cleanups.push(async () => redis.disconnect());
  let count = 0;
  redis.on('reconnecting', () => (count += 1));
  await new Promise((resolve) => redis.once('ready', resolve));
  return { redis, reconnects: () => count };
}

async function writeConcurrently(
  redis: Redis,
  count: number,
): Promise<PromiseSettledResult<unknown>[]> {
  return Promise.allSettled(
    Array.from({ length: count }, (_, index) => redis.set(`readonly:${index}`, 'v')),
  );
}

describe('createRedis on a read-only replica', () => {
  test('a burst of READONLY replies closes the socket once', async () => {
    const url = await startReplicaUrl();
    const { redis, reconnects } = await openCountingReconnects(url);
    const closes = jest.spyOn(redis, 'disconnect');

    const results = await writeConcurrently(redis, 50);

    expect(results.every((result) => result.status === 'rejected')).toBe(true);
    expect((results[0] as PromiseRejectedResult).reason).toHaveProperty(
      'message',
      expect.stringMatching(/^READONLY /),
    );
    expect(closes).toHaveBeenCalledTimes(1);
    await new Promise((resolve) => redis.once('ready', resolve));
    expect(reconnects()).toBe(1);
  });

  test('a connection and its copy reconnect together', async () => {
    const url = await startReplicaUrl();
    const { redis, reconnects } = await openCountingReconnects(url);
    // BullMQ opens each worker's blocking connection this way, so a dispatcher's connections
    // share one reconnectOnError.
    const copy = redis.duplicate();
    cleanups.push(async () => copy.disconnect());
    let copyReconnects = 0;
    copy.on('reconnecting', () => (copyReconnects += 1));
    await new Promise((resolve) => copy.once('ready', resolve));

    await Promise.all([writeConcurrently(redis, 5), writeConcurrently(copy, 5)]);
    await Promise.all([
      new Promise((resolve) => redis.once('ready', resolve)),
      new Promise((resolve) => copy.once('ready', resolve)),
    ]);

    expect(reconnects()).toBe(1);
    expect(copyReconnects).toBe(1);
  });

  test('a later READONLY reply reconnects again', async () => {
    const url = await startReplicaUrl();
    const { redis, reconnects } = await openCountingReconnects(url);

    await writeConcurrently(redis, 5);
    await new Promise((resolve) => redis.once('ready', resolve));
    await new Promise((resolve) => setTimeout(resolve, READONLY_RECONNECT_INTERVAL_MS));
    await writeConcurrently(redis, 5);
    await new Promise((resolve) => redis.once('ready', resolve));

    expect(reconnects()).toBe(2);
  });
});
