import path from 'node:path';
import type { Redis } from 'ioredis';
import { Worker, type Queue } from 'bullmq';
import { startLambdaHost } from '@bullpen/lambda-host';
import { WorkerRegistry, registryKeys, type Env } from '@bullpen/core';
import type { Dispatcher, DispatcherConfig, DispatcherDependencies } from '../src';
import { cleanupPrefix, uniquePrefix, uniqueQueue } from '../../../test/support/redis';
import {
  respondOk,
  startEndpointServer,
  waitFor,
  type EndpointHandler,
  type EndpointServer,
} from './support/endpoint-server';
import {
  memoryLogger,
  newRedis,
  register,
  sleep,
  startTestDispatcher,
  testQueue,
} from './support/test-dispatcher';

const LAMBDA_HANDLERS = path.join(__dirname, 'fixtures', 'lambda-handlers.ts');

/** Responds 200 after `delayMs`, so calls overlap. */
const respondAfter =
  (delayMs: number): EndpointHandler =>
  (_call, response) => {
    setTimeout(() => response.writeHead(200).end('{"ok":true}'), delayMs);
  };

describe('dispatcher', () => {
  let redis: Redis;
  let prefix: string;
  let endpoint: EndpointServer;
  const dispatchers: Dispatcher[] = [];
  const queues: Queue[] = [];
  const servers: EndpointServer[] = [];

  const openQueue = (name: string) => {
    const queue = testQueue(name, redis, prefix);
    queues.push(queue);
    return queue;
  };
  const start = async (
    env: Env = {},
    dependencies: DispatcherDependencies = {},
    configOverrides: Partial<DispatcherConfig> = {},
  ) => {
    const dispatcher = await startTestDispatcher(prefix, env, dependencies, configOverrides);
    dispatchers.push(dispatcher);
    return dispatcher;
  };
  const startServer = async (handler?: EndpointHandler) => {
    const server = await startEndpointServer(handler);
    servers.push(server);
    return server;
  };
  const countOf = async (queue: Queue, state: 'completed' | 'failed' | 'waiting' | 'active') =>
    (await queue.getJobCounts(state))[state] ?? 0;

  beforeEach(async () => {
    redis = newRedis();
    prefix = uniquePrefix('dispatcher');
    endpoint = await startServer(respondOk);
  });

  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((dispatcher) => dispatcher.close()));
    await Promise.all(queues.splice(0).map((queue) => queue.close()));
    await Promise.all(servers.splice(0).map((server) => server.close()));
    await cleanupPrefix(redis, prefix);
    await redis.quit();
  });

  test('processes jobs and sends the lock token', async () => {
    const name = uniqueQueue('basic');
    await register(redis, prefix, { queue: name, endpoint: { url: `${endpoint.url}/run` } });
    const dispatcher = await start();
    const queue = openQueue(name);

    const job = await queue.add('resize', { image: 'a.png' });
    await waitFor(async () => (await countOf(queue, 'completed')) === 1, 5_000, 'completion');

    expect(dispatcher.runningQueues()).toEqual([name]);
    const call = endpoint.calls[0]!;
    expect(call.body.queue).toBe(name);
    expect(call.body.job.id).toBe(job.id);
    expect(call.body.job.data).toEqual({ image: 'a.png' });
    expect(call.body.callbackUrl).toBe('http://127.0.0.1:9/');
    expect(call.body.token).toMatch(/^[0-9a-f-]+:\d+$/);
    expect((await queue.getJob(job.id!))!.returnvalue).toEqual({ ok: true });
  });

  test('skips poison registrations and runs the rest', async () => {
    const good = uniqueQueue('good');
    const corrupt = uniqueQueue('corrupt');
    const zeroConcurrency = uniqueQueue('zero');
    const workersKey = registryKeys(prefix).workers;
    await redis.hset(workersKey, corrupt, '{"queue": "not json');
    await redis.hset(
      workersKey,
      zeroConcurrency,
      JSON.stringify({
        queue: zeroConcurrency,
        endpoint: { url: endpoint.url },
        opts: { concurrency: 0 },
      }),
    );
    await register(redis, prefix, { queue: good, endpoint: { url: endpoint.url } });
    const { logger, lines } = memoryLogger();

    const dispatcher = await start({}, { logger });
    const queue = openQueue(good);
    await queue.add('job', null);
    await waitFor(async () => (await countOf(queue, 'completed')) === 1, 5_000, 'completion');

    expect(dispatcher.runningQueues()).toEqual([good]);
    const rejected = lines.filter((line) => line.msg.startsWith('invalid worker registration'));
    expect(rejected.map((line) => line.queue).sort()).toEqual([corrupt, zeroConcurrency].sort());
    const zeroLine = rejected.find((line) => line.queue === zeroConcurrency)!;
    expect(zeroLine.issues).toEqual([{ path: 'opts.concurrency', message: 'must be at least 1' }]);
  });

  test('picks up a value written without an event at reconcile', async () => {
    const name = uniqueQueue('reconcile');
    const dispatcher = await start({ RECONCILE_INTERVAL_MS: '200' });

    await redis.hset(
      registryKeys(prefix).workers,
      name,
      JSON.stringify({ queue: name, endpoint: { type: 'http', url: endpoint.url } }),
    );

    await waitFor(() => dispatcher.runningQueues().includes(name), 3_000, 'reconciled worker');
  });

  test('starts a new registration within 1 s', async () => {
    const name = uniqueQueue('live');
    await start();
    const queue = openQueue(name);
    await queue.add('waiting', null);

    const registeredAtMs = Date.now();
    await register(redis, prefix, { queue: name, endpoint: { url: endpoint.url } });
    await waitFor(() => endpoint.calls.length === 1, 5_000, 'first call');

    expect(endpoint.calls[0]!.receivedAtMs - registeredAtMs).toBeLessThan(1_000);
  });

  test('stops the worker when the registration is removed', async () => {
    const name = uniqueQueue('removed');
    await register(redis, prefix, { queue: name, endpoint: { url: endpoint.url } });
    const dispatcher = await start();
    expect(dispatcher.runningQueues()).toEqual([name]);

    await new WorkerRegistry(redis, prefix).remove(name);
    await waitFor(() => dispatcher.runningQueues().length === 0, 3_000, 'worker removal');

    const queue = openQueue(name);
    await queue.add('left', null);
    await sleep(300);
    expect(endpoint.calls).toHaveLength(0);
    expect(await countOf(queue, 'waiting')).toBe(1);
  });

  test.each([
    ['an endpoint change', { concurrency: 4 }, { concurrency: 4 }],
    [
      'an option change',
      { concurrency: 4, lockDuration: 30_000 },
      { concurrency: 4, lockDuration: 20_000 },
    ],
  ])('switches on %s without doubling concurrency', async (_label, oldOpts, newOpts) => {
    const name = uniqueQueue('switch');
    let inFlight = 0;
    let maxInFlight = 0;
    const counted =
      (delayMs: number): EndpointHandler =>
      (_call, response) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setTimeout(() => {
          inFlight -= 1;
          response.writeHead(200).end('{}');
        }, delayMs);
      };
    const oldEndpoint = await startServer(counted(150));
    const newEndpoint = await startServer(counted(150));
    await register(redis, prefix, {
      queue: name,
      endpoint: { url: oldEndpoint.url },
      opts: oldOpts,
    });
    await start();
    const queue = openQueue(name);
    await queue.addBulk(Array.from({ length: 40 }, (_, index) => ({ name: 'job', data: index })));
    await waitFor(() => oldEndpoint.calls.length >= 8, 5_000, 'calls to the old endpoint');

    const switchedAtMs = Date.now();
    await register(redis, prefix, {
      queue: name,
      endpoint: { url: newEndpoint.url },
      opts: newOpts,
    });
    await waitFor(async () => (await countOf(queue, 'completed')) === 40, 15_000, 'all jobs');

    expect(maxInFlight).toBeLessThanOrEqual(4);
    expect(newEndpoint.calls.length).toBeGreaterThan(0);
    const lateOldCalls = oldEndpoint.calls.filter(
      (call) => call.receivedAtMs > switchedAtMs + 1_000,
    );
    expect(lateOldCalls).toHaveLength(0);
    expect(newEndpoint.calls[0]!.receivedAtMs - switchedAtMs).toBeLessThan(1_000);
  });

  test('keeps the lock during a call longer than lockDuration', async () => {
    const name = uniqueQueue('long');
    endpoint.setHandler(respondAfter(2_500));
    await register(redis, prefix, {
      queue: name,
      endpoint: { url: endpoint.url },
      opts: { lockDuration: 1_000, stalledInterval: 500, maxStalledCount: 0 },
    });
    await start();
    const queue = openQueue(name);

    await queue.add('long', null, { attempts: 1 });
    await waitFor(async () => (await countOf(queue, 'completed')) === 1, 10_000, 'completion');

    expect(endpoint.calls).toHaveLength(1);
    expect(await countOf(queue, 'failed')).toBe(0);
  });

  test('logs a job failed for stalling too often', async () => {
    const name = uniqueQueue('stall-limit');
    await register(redis, prefix, {
      queue: name,
      endpoint: { url: endpoint.url },
      opts: { lockDuration: 1_000, stalledInterval: 300, maxStalledCount: 0 },
    });
    const queue = openQueue(name);
    const job = await queue.add('crashed', null, { attempts: 3 });
    // A worker that takes the job and vanishes, as a killed dispatcher does: its lock is gone.
    const vanished = new Worker(name, null, { connection: newRedis(), prefix, autorun: false });
    const fetched = await vanished.getNextJob('vanished-token');
    await vanished.close();
    await vanished.disconnect();
    expect(fetched?.id).toBe(job.id);
    await redis.del(`${prefix}:${name}:${job.id}:lock`);
    const { logger, lines } = memoryLogger();

    await start({}, { logger });
    await waitFor(async () => (await countOf(queue, 'failed')) === 1, 10_000, 'stall failure');

    const failed = await queue.getJob(job.id!);
    expect(failed?.failedReason).toBe('job stalled more than allowable limit');
    expect(failed?.attemptsMade).toBe(1);
    expect(endpoint.calls).toHaveLength(0);
    await waitFor(
      () => lines.some((line) => line.msg.startsWith('job failed without a call')),
      2_000,
      'failure log line',
    );
    const logged = lines.find((line) => line.msg.startsWith('job failed without a call'))!;
    expect(logged.queue).toBe(name);
    expect(logged.jobId).toBe(job.id);
    expect(logged.stalledCounter).toBe(1);
    expect(logged.reason).toBe('job stalled more than allowable limit');
  });

  test('lets in-flight calls finish on close', async () => {
    const name = uniqueQueue('drain');
    endpoint.setHandler(respondAfter(400));
    await register(redis, prefix, {
      queue: name,
      endpoint: { url: endpoint.url },
      opts: { concurrency: 3 },
    });
    const dispatcher = await start();
    const queue = openQueue(name);
    await queue.addBulk(Array.from({ length: 10 }, () => ({ name: 'job', data: null })));
    await waitFor(() => endpoint.inFlight === 3, 5_000, 'three calls in flight');

    await dispatcher.close();

    expect(dispatcher.state).toBe('stopped');
    expect(endpoint.calls).toHaveLength(3);
    expect(await countOf(queue, 'completed')).toBe(3);
    expect(await countOf(queue, 'waiting')).toBe(7);
  });

  test('returns abandoned jobs to waiting after the grace period', async () => {
    const name = uniqueQueue('abandon');
    endpoint.setHandler(() => undefined);
    await register(redis, prefix, {
      queue: name,
      endpoint: { url: endpoint.url },
      opts: { concurrency: 2 },
    });
    const dispatcher = await start({ SHUTDOWN_GRACE_MS: '300' });
    const queue = openQueue(name);
    await queue.addBulk([
      { name: 'a', data: null, opts: { attempts: 1 } },
      { name: 'b', data: null, opts: { attempts: 1 } },
    ]);
    await waitFor(() => endpoint.inFlight === 2, 5_000, 'two calls in flight');

    const closingAtMs = Date.now();
    await dispatcher.close();

    expect(Date.now() - closingAtMs).toBeLessThan(3_000);
    expect(await countOf(queue, 'waiting')).toBe(2);
    expect(await countOf(queue, 'failed')).toBe(0);
    const jobs = await queue.getJobs(['waiting']);
    expect(jobs.map((job) => job.attemptsMade)).toEqual([0, 0]);
  });

  test('returns abandoned Lambda jobs to waiting', async () => {
    const host = await startLambdaHost({
      functions: [
        { name: 'slow', handlerModule: LAMBDA_HANDLERS, handlerExport: 'slow', timeoutMs: 10_000 },
      ],
    });
    try {
      const name = uniqueQueue('abandon-lambda');
      await register(redis, prefix, {
        queue: name,
        endpoint: { type: 'lambda', functionName: 'slow', timeout: 10_000 },
        opts: { concurrency: 2 },
      });
      const dispatcher = await start({
        SHUTDOWN_GRACE_MS: '300',
        AWS_ENDPOINT_URL_LAMBDA: host.url,
      });
      const queue = openQueue(name);
      // The invocations outlast the grace period but end within the 3 s that close waits after
      // abandoning calls. If the abort does not reach the requests, both jobs complete.
      await queue.addBulk([
        { name: 'a', data: { sleepMs: 2_000 }, opts: { attempts: 1 } },
        { name: 'b', data: { sleepMs: 2_000 }, opts: { attempts: 1 } },
      ]);
      await waitFor(() => host.invocationCount('slow') === 2, 5_000, 'two invocations running');

      await dispatcher.close();

      expect(await countOf(queue, 'completed')).toBe(0);
      expect(await countOf(queue, 'failed')).toBe(0);
      expect(await countOf(queue, 'waiting')).toBe(2);
      const jobs = await queue.getJobs(['waiting']);
      expect(jobs.map((job) => job.attemptsMade)).toEqual([0, 0]);
    } finally {
      await host.close();
    }
  });

  test('serves metrics and health', async () => {
    const name = uniqueQueue('metrics');
    await register(redis, prefix, { queue: name, endpoint: { url: endpoint.url } });
    const dispatcher = await start();
    const queue = openQueue(name);
    await queue.add('job', null);
    await waitFor(async () => (await countOf(queue, 'completed')) === 1, 5_000, 'completion');

    const metrics = await (await fetch(`${dispatcher.metricsUrl}/metrics`)).text();
    const health = await fetch(`${dispatcher.metricsUrl}/health`);

    expect(metrics).toContain(
      `bullpen_dispatcher_jobs_total{queue="${name}",outcome="completed"} 1`,
    );
    expect(metrics).toContain('bullpen_dispatcher_call_duration_seconds_bucket');
    expect(metrics).toContain(`bullpen_dispatcher_calls_in_flight{queue="${name}"} 0`);
    expect(metrics).toContain('bullpen_dispatcher_workers 1');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', state: 'running' });
  });

  test('writes the backlog as a CloudWatch metric line', async () => {
    const name = uniqueQueue('backlog');
    endpoint.setHandler(() => undefined);
    await register(redis, prefix, {
      queue: name,
      endpoint: { url: endpoint.url },
      opts: { concurrency: 1 },
    });
    const metricLines: string[] = [];
    await start(
      {
        CLOUDWATCH_METRICS: 'true',
        SERVICE_NAME: 'dispatcher-under-test',
        SHUTDOWN_GRACE_MS: '100',
      },
      { writeMetricLine: (line) => metricLines.push(line) },
      { cloudWatchMetricsIntervalMs: 200 },
    );
    const queue = openQueue(name);
    await queue.addBulk([
      { name: 'first', data: null },
      { name: 'second', data: null },
      { name: 'third', data: null },
      { name: 'urgent', data: null, opts: { priority: 1 } },
    ]);
    await waitFor(() => endpoint.inFlight === 1, 5_000, 'one call in flight');

    const linesBefore = metricLines.length;
    await waitFor(() => metricLines.length > linesBefore, 5_000, 'a metric line');

    const document = JSON.parse(metricLines[metricLines.length - 1]!);
    expect(document._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'Bullpen',
        Dimensions: [['ServiceName']],
        Metrics: [{ Name: 'BacklogJobs', Unit: 'Count' }],
      },
    ]);
    expect(document.ServiceName).toBe('dispatcher-under-test');
    expect(document.BacklogJobs).toBe(3);
  });

  test('caps a queue across dispatchers with globalConcurrency', async () => {
    const name = uniqueQueue('global');
    endpoint.setHandler(respondAfter(100));
    await register(redis, prefix, {
      queue: name,
      endpoint: { url: endpoint.url },
      opts: { concurrency: 5, globalConcurrency: 2 },
    });
    await start();
    await start();
    const queue = openQueue(name);

    await queue.addBulk(Array.from({ length: 20 }, () => ({ name: 'job', data: null })));
    await waitFor(async () => (await countOf(queue, 'completed')) === 20, 15_000, 'all jobs');

    expect(endpoint.maxInFlight).toBeLessThanOrEqual(2);
    expect(endpoint.maxInFlight).toBe(2);
  });

  test('pauses the queue in every dispatcher when throttled', async () => {
    const name = uniqueQueue('throttle');
    let throttled = false;
    endpoint.setHandler((_call, response) => {
      if (!throttled) {
        throttled = true;
        response.writeHead(429, { 'retry-after': '1' }).end();
        return;
      }
      response.writeHead(200).end('{}');
    });
    await register(redis, prefix, {
      queue: name,
      endpoint: { url: endpoint.url },
      opts: { concurrency: 1 },
    });
    await start();
    await start();
    const queue = openQueue(name);

    await queue.add('first', null, { attempts: 1 });
    await waitFor(() => endpoint.calls.length === 1, 5_000, 'the throttled call');
    await queue.addBulk(Array.from({ length: 3 }, () => ({ name: 'later', data: null })));
    await waitFor(async () => (await countOf(queue, 'completed')) === 4, 10_000, 'all jobs');

    const throttledAtMs = endpoint.calls[0]!.receivedAtMs;
    const nextCallMs = endpoint.calls[1]!.receivedAtMs;
    expect(nextCallMs - throttledAtMs).toBeGreaterThanOrEqual(900);
  });
});
