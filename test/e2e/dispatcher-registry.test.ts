// Registry changes seen by a running dispatcher: registrations through the API going live,
// re-registration switching endpoints, and poison values written straight into Redis.
import { registryKeys } from '@bullpen/core';
import { memoryLogger } from '../../services/dispatcher/test/support/test-dispatcher';
import { uniqueQueue } from '../support/redis';
import { startStack, waitFor, type EndpointHandler, type Stack } from '../support/stack';

describe('dispatcher registry changes', () => {
  let stack: Stack;
  let log: ReturnType<typeof memoryLogger>;

  beforeEach(async () => {
    log = memoryLogger();
    stack = await startStack({
      label: 'e2e-registry',
      dispatcherEnv: { RECONCILE_INTERVAL_MS: '500' },
      dispatcherLogger: log.logger,
    });
  });

  afterEach(async () => {
    await stack.close();
  });

  const completedCount = async (queue: string): Promise<number> => {
    const reply = await stack.api<{ counts: Record<string, number> }>(
      'GET',
      `/queues/${queue}/jobs?statuses=completed&length=1`,
    );
    return reply.body.counts.completed ?? 0;
  };

  test('skips poison values while other queues keep running', async () => {
    const endpoint = await stack.startEndpoint();
    const healthy = uniqueQueue('healthy');
    const corrupt = uniqueQueue('corrupt');
    const zero = uniqueQueue('zero');
    await stack.registerWorker({ queue: healthy, endpoint: { url: endpoint.url } });
    await stack.addJobs(healthy, [{ name: 'before', data: null }]);
    await waitFor(async () => (await completedCount(healthy)) === 1, 10_000, 'the first job');

    const keys = registryKeys(stack.queuePrefix);
    await stack.redis.hset(keys.workers, corrupt, '{"queue": ');
    await stack.redis.xadd(keys.events, '*', 'type', 'put', 'queue', corrupt);
    await stack.redis.hset(
      keys.workers,
      zero,
      JSON.stringify({ queue: zero, endpoint: { url: endpoint.url }, opts: { concurrency: 0 } }),
    );
    await stack.addJobs(corrupt, [{ name: 'stuck', data: null }]);
    await stack.addJobs(zero, [{ name: 'stuck', data: null }]);
    await waitFor(
      () =>
        log.lines.filter((line) => line.msg.startsWith('invalid worker registration')).length >= 2,
      5_000,
      'both poison values to be logged',
    );
    await stack.addJobs(healthy, [{ name: 'after', data: null }]);
    await waitFor(async () => (await completedCount(healthy)) === 2, 10_000, 'the second job');

    const rejectedQueues = log.lines
      .filter((line) => line.msg.startsWith('invalid worker registration'))
      .map((line) => line.queue);
    expect(new Set(rejectedQueues)).toEqual(new Set([corrupt, zero]));
    expect(stack.dispatchers[0]!.runningQueues()).toEqual([healthy]);
    expect(endpoint.calls.map((call) => call.body.queue)).toEqual([healthy, healthy]);
    expect(await completedCount(corrupt)).toBe(0);
    expect(await completedCount(zero)).toBe(0);
  });

  test('runs a new registration within 1 s', async () => {
    const endpoint = await stack.startEndpoint();
    const queue = uniqueQueue('live');
    await stack.addJobs(queue, [{ name: 'waiting', data: null }]);

    const registeredAtMs = Date.now();
    await stack.registerWorker({ queue, endpoint: { url: endpoint.url } });
    await waitFor(() => endpoint.calls.length === 1, 5_000, 'the first call');

    expect(endpoint.calls[0]!.receivedAtMs - registeredAtMs).toBeLessThan(1_000);
  });

  test.each([
    ['endpoint', { concurrency: 5 }, { concurrency: 5 }],
    [
      'options',
      { concurrency: 5, stalledInterval: 30_000 },
      { concurrency: 5, stalledInterval: 20_000 },
    ],
  ])('re-registering the %s never doubles concurrency', async (_label, oldOpts, newOpts) => {
    let inFlight = 0;
    let maxInFlight = 0;
    const countedHandler: EndpointHandler = (_call, response) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => {
        inFlight -= 1;
        response.writeHead(200).end('{}');
      }, 200);
    };
    const oldEndpoint = await stack.startEndpoint(countedHandler);
    const newEndpoint = await stack.startEndpoint(countedHandler);
    const queue = uniqueQueue('switch');
    await stack.registerWorker({ queue, endpoint: { url: oldEndpoint.url }, opts: oldOpts });
    await stack.addJobs(
      queue,
      Array.from({ length: 60 }, (_, index) => ({ name: 'job', data: index })),
    );
    await waitFor(() => oldEndpoint.calls.length >= 10, 10_000, 'calls to the old endpoint');

    const switchedAtMs = Date.now();
    await stack.registerWorker({ queue, endpoint: { url: newEndpoint.url }, opts: newOpts });
    await waitFor(async () => (await completedCount(queue)) === 60, 20_000, 'all jobs');

    expect(maxInFlight).toBeLessThanOrEqual(5);
    expect(newEndpoint.calls.length).toBeGreaterThan(0);
    expect(newEndpoint.calls[0]!.receivedAtMs - switchedAtMs).toBeLessThan(1_000);
    expect(oldEndpoint.calls.length + newEndpoint.calls.length).toBe(60);
  });
});
