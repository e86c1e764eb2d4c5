import { Redis } from 'ioredis';
import {
  restartPrivateRedisOnPort,
  startPrivateRedis,
  uniquePrefix,
  uniqueQueue,
  type PrivateRedis,
} from '../../../test/support/redis';
import type { Dispatcher } from '../src';
import { startEndpointServer, waitFor, type EndpointServer } from './support/endpoint-server';
import {
  memoryLogger,
  register,
  sleep,
  startTestDispatcher,
  testQueue,
} from './support/test-dispatcher';

describe('registry follower', () => {
  let redisServer: PrivateRedis;
  let endpoint: EndpointServer;
  let dispatcher: Dispatcher | undefined;

  beforeEach(async () => {
    redisServer = await startPrivateRedis();
    endpoint = await startEndpointServer();
  });

  afterEach(async () => {
    await dispatcher?.close().catch(() => undefined);
    dispatcher = undefined;
    await endpoint.close();
    await redisServer.stop();
  });

  test('resumes following after a Redis restart', async () => {
    const prefix = uniquePrefix('follower');
    const before = uniqueQueue('before');
    const after = uniqueQueue('after');
    const { logger, lines } = memoryLogger();
    const setup = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    await register(setup, prefix, { queue: before, endpoint: { url: endpoint.url } });
    await setup.quit();
    dispatcher = await startTestDispatcher(
      prefix,
      { REDIS_URL: redisServer.url, RECONCILE_INTERVAL_MS: '600000' },
      { logger },
    );
    expect(dispatcher.runningQueues()).toEqual([before]);

    const port = redisServer.port;
    await redisServer.stop();
    await waitFor(
      () => lines.some((line) => line.msg === 'following the worker registry failed; retrying'),
      30_000,
      'the follower to log the outage',
    );
    await sleep(500);
    redisServer = await restartPrivateRedisOnPort(port);

    const writer = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    try {
      await register(writer, prefix, { queue: after, endpoint: { url: endpoint.url } });
      const queue = testQueue(after, writer, prefix);
      await queue.add('after-restart', null);
      await waitFor(() => endpoint.calls.length === 1, 30_000, 'a call for the new registration');
      await queue.close();
    } finally {
      await writer.quit();
    }

    expect(dispatcher.runningQueues()).toEqual([after, before].sort());
    expect(endpoint.calls[0]!.body.queue).toBe(after);
  }, 60_000);
});
