// Dispatchers as real child processes of `src/main.ts`: sharing a queue, killed with SIGKILL,
// stopped with SIGTERM, and failing to start.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { Redis } from 'ioredis';
import { normalizedRegistrationSchema, WorkerRegistry } from '@bullpen/core';
import { startPrivateRedis, uniqueQueue, type PrivateRedis } from '../support/redis';
import {
  REPO_ROOT,
  startStack,
  waitFor,
  type EndpointServer,
  type ReceivedCall,
  type Stack,
} from '../support/stack';

const MAIN = path.join(REPO_ROOT, 'services/dispatcher/src/main.ts');

interface LogLine {
  readonly msg: string;
  readonly [field: string]: unknown;
}

interface DispatcherProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[];
  /** Standard output lines that are not JSON, and standard error. */
  readonly otherOutput: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node --import tsx src/main.ts`, one process, so a signal reaches the dispatcher itself. */
function spawnDispatcher(
  env: Record<string, string>,
  command: 'node' | 'pnpm' = 'node',
): DispatcherProcess {
  const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  const child =
    command === 'node'
      ? spawn(process.execPath, ['--import', 'tsx', MAIN], {
          cwd: REPO_ROOT,
          env: { ...baseEnv, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : spawn('pnpm', ['--silent', 'dispatcher'], {
          cwd: REPO_ROOT,
          env: { ...baseEnv, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  const lines: LogLine[] = [];
  const otherOutput: string[] = [];
  readline.createInterface({ input: child.stdout! }).on('line', (text) => {
    try {
      lines.push(JSON.parse(text) as LogLine);
    } catch {
      otherOutput.push(text);
    }
  });
  readline.createInterface({ input: child.stderr! }).on('line', (text) => otherOutput.push(text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, lines, otherOutput, exited };
}

async function waitUntilStarted(dispatcher: DispatcherProcess): Promise<void> {
  await waitFor(
    () =>
      dispatcher.lines.some((line) => line.msg === 'dispatcher started') ||
      dispatcher.child.exitCode !== null,
    30_000,
    'the dispatcher process to start',
  );
  if (dispatcher.child.exitCode !== null) {
    throw new Error(
      `The dispatcher exited with ${dispatcher.child.exitCode}: ${dispatcher.otherOutput.join('\n')}`,
    );
  }
}

/** Reads the completed-job counter of one queue from a dispatcher process's metrics. */
async function completedJobsOf(dispatcher: DispatcherProcess, queue: string): Promise<number> {
  const started = dispatcher.lines.find((line) => line.msg === 'dispatcher started');
  const metrics = await (await fetch(`${String(started?.metricsUrl)}/metrics`)).text();
  const pattern = new RegExp(
    `bullpen_dispatcher_jobs_total\\{queue="${queue}",outcome="completed"\\} (\\d+)`,
  );
  return Number(pattern.exec(metrics)?.[1] ?? 0);
}

/** Counts the calls per job id. */
function callsPerJob(calls: readonly ReceivedCall[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const call of calls) {
    const jobId = String(call.body.job.id);
    counts.set(jobId, (counts.get(jobId) ?? 0) + 1);
  }
  return counts;
}

describe('dispatcher processes', () => {
  let stack: Stack;
  const processes: DispatcherProcess[] = [];

  const startProcess = async (overrides: Record<string, string> = {}) => {
    const dispatcher = spawnDispatcher(stack.dispatcherEnv({ LOG_LEVEL: 'info', ...overrides }));
    processes.push(dispatcher);
    await waitUntilStarted(dispatcher);
    return dispatcher;
  };

  const countOf = async (queue: string, state: string): Promise<number> => {
    const reply = await stack.api<{ counts: Record<string, number> }>(
      'GET',
      `/queues/${queue}/jobs?statuses=${state}&length=1`,
    );
    return reply.body.counts[state] ?? 0;
  };

  /**
   * Registers `queues` in a Redis of the test's own and starts a dispatcher process on it, for
   * tests that then stop that Redis under the dispatcher.
   */
  const startOnPrivateRedis = async (
    redis: PrivateRedis,
    queuePrefix: string,
    queues: readonly string[],
    overrides: Record<string, string> = {},
  ) => {
    const setup = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      const registry = new WorkerRegistry(setup, queuePrefix);
      for (const queue of queues) {
        await registry.put(
          normalizedRegistrationSchema.parse({ queue, endpoint: { url: 'http://127.0.0.1:9/' } }),
        );
      }
    } finally {
      setup.disconnect();
    }
    return startProcess({ REDIS_URL: redis.url, QUEUE_PREFIX: queuePrefix, ...overrides });
  };

  beforeEach(async () => {
    stack = await startStack({ label: 'e2e-processes', dispatchers: 0 });
  });

  afterEach(async () => {
    for (const dispatcher of processes.splice(0)) {
      if (dispatcher.child.exitCode === null && dispatcher.child.signalCode === null) {
        dispatcher.child.kill('SIGKILL');
        await dispatcher.exited;
      }
    }
    await stack.close();
  });

  test('two processes run each job exactly once', async () => {
    const endpoint = await stack.startEndpoint((_call, response) => {
      setTimeout(() => response.writeHead(200).end('{}'), 10);
    });
    const queue = uniqueQueue('shared');
    await stack.registerWorker({
      queue,
      endpoint: { url: endpoint.url },
      opts: { concurrency: 20 },
    });
    const [first, second] = await Promise.all([startProcess(), startProcess()]);

    const jobs = Array.from({ length: 1000 }, (_, index) => ({ name: 'job', data: index }));
    for (let start = 0; start < jobs.length; start += 500) {
      await stack.addJobs(queue, jobs.slice(start, start + 500));
    }
    await waitFor(async () => (await countOf(queue, 'completed')) === 1000, 60_000, 'all jobs');

    const counts = callsPerJob(endpoint.calls);
    expect(counts.size).toBe(1000);
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
    const perProcess = await Promise.all(
      [first!, second!].map((dispatcher) => completedJobsOf(dispatcher, queue)),
    );
    expect(perProcess[0]! + perProcess[1]!).toBe(1000);
    expect(perProcess[0]).toBeGreaterThan(0);
    expect(perProcess[1]).toBeGreaterThan(0);
  }, 90_000);

  test('kill -9 with 200 calls in flight loses no job', async () => {
    let released = false;
    const held: Array<() => void> = [];
    const endpoint: EndpointServer = await stack.startEndpoint((_call, response) => {
      const answer = () => {
        if (!response.destroyed) response.writeHead(200).end('{}');
      };
      if (released) setTimeout(answer, 5);
      else held.push(answer);
    });
    const queue = uniqueQueue('kill');
    await stack.registerWorker({
      queue,
      endpoint: { url: endpoint.url, timeout: 60_000 },
      opts: { concurrency: 200, lockDuration: 3_000, stalledInterval: 1_000, maxStalledCount: 1 },
    });
    const victim = await startProcess();
    await stack.addJobs(
      queue,
      Array.from({ length: 500 }, (_, index) => ({ name: 'job', data: index })),
    );
    await waitFor(
      () => endpoint.inFlight === 200,
      30_000,
      '200 calls in flight from the first process',
    );
    const survivor = await startProcess();
    await waitFor(
      () => endpoint.inFlight === 400,
      30_000,
      '200 more calls from the second process',
    );

    victim.child.kill('SIGKILL');
    const { signal } = await victim.exited;
    await waitFor(() => endpoint.abortedCalls.length === 200, 10_000, 'the killed calls to close');
    released = true;
    for (const answer of held.splice(0)) answer();
    await waitFor(async () => (await countOf(queue, 'completed')) === 500, 60_000, 'all 500 jobs');

    expect(signal).toBe('SIGKILL');
    expect(await countOf(queue, 'failed')).toBe(0);
    const counts = callsPerJob(endpoint.calls);
    expect(counts.size).toBe(500);
    const cutOff = new Set(endpoint.abortedCalls.map((call) => String(call.body.job.id)));
    const calledTwice = [...counts].filter(([, count]) => count > 1).map(([jobId]) => jobId);
    expect(new Set(calledTwice)).toEqual(cutOff);
    expect([...counts.values()].every((count) => count <= 2)).toBe(true);
    expect(survivor.child.exitCode).toBeNull();
    const stalledLogged = survivor.lines
      .filter((line) => line.msg === 'stalled job moved back to waiting')
      .map((line) => String(line.jobId));
    expect(new Set(stalledLogged)).toEqual(cutOff);
  }, 120_000);

  test('SIGTERM lets in-flight calls finish and exits 0', async () => {
    const endpoint = await stack.startEndpoint((_call, response) => {
      setTimeout(() => response.writeHead(200).end('{}'), 1_500);
    });
    const queue = uniqueQueue('sigterm');
    await stack.registerWorker({
      queue,
      endpoint: { url: endpoint.url },
      opts: { concurrency: 5 },
    });
    const dispatcher = await startProcess({ SHUTDOWN_GRACE_MS: '10000' });
    await stack.addJobs(
      queue,
      Array.from({ length: 20 }, (_, index) => ({ name: 'job', data: index })),
    );
    await waitFor(() => endpoint.inFlight === 5, 10_000, 'five calls in flight');

    const signalledAtMs = Date.now();
    dispatcher.child.kill('SIGTERM');
    const { code } = await dispatcher.exited;
    const exitAfterMs = Date.now() - signalledAtMs;

    expect(code).toBe(0);
    expect(exitAfterMs).toBeLessThan(10_000);
    expect(endpoint.calls).toHaveLength(5);
    expect(endpoint.abortedCalls).toHaveLength(0);
    expect(await countOf(queue, 'completed')).toBe(5);
    expect(await countOf(queue, 'waiting')).toBe(15);
    expect(dispatcher.lines.map((line) => line.msg)).toContain('dispatcher stopped');
  }, 60_000);

  test('SIGTERM past the grace period requeues calls and exits 0', async () => {
    const endpoint = await stack.startEndpoint(() => undefined);
    const queue = uniqueQueue('grace');
    await stack.registerWorker({
      queue,
      endpoint: { url: endpoint.url },
      opts: { concurrency: 3 },
    });
    const dispatcher = await startProcess({ SHUTDOWN_GRACE_MS: '1000' });
    const added = await stack.addJobs(
      queue,
      Array.from({ length: 3 }, (_, index) => ({
        name: 'job',
        data: index,
        opts: { attempts: 1 },
      })),
    );
    await waitFor(() => endpoint.inFlight === 3, 10_000, 'three calls in flight');

    const signalledAtMs = Date.now();
    dispatcher.child.kill('SIGTERM');
    const { code } = await dispatcher.exited;

    expect(code).toBe(0);
    expect(Date.now() - signalledAtMs).toBeLessThan(5_000);
    const jobs = await Promise.all(added.map((job) => stack.getJob(queue, job.id)));
    expect(jobs.map((job) => job.state)).toEqual(['waiting', 'waiting', 'waiting']);
    expect(jobs.map((job) => job.attemptsMade)).toEqual([0, 0, 0]);
  }, 60_000);

  test('SIGTERM after Redis has gone exits 1 without waiting for Redis', async () => {
    // The shutdown must not wait for the registry follower's read, which stays pending until
    // Redis comes back.
    const redis = await startPrivateRedis();
    try {
      const dispatcher = await startOnPrivateRedis(
        redis,
        'e2e-no-redis',
        [uniqueQueue('no-redis')],
        {
          SHUTDOWN_GRACE_MS: '1000',
        },
      );
      await redis.stop();
      await waitFor(
        () => dispatcher.lines.some((line) => line.msg === 'Redis connection error'),
        10_000,
        'the dispatcher to log the lost connection',
      );

      const signalledAtMs = Date.now();
      dispatcher.child.kill('SIGTERM');
      const { code } = await dispatcher.exited;

      // The workers cannot close without Redis, so the shutdown reports that step as failed.
      expect(code).toBe(1);
      // The grace period, then 3 s for abandoned calls, then the bounded Redis steps.
      expect(Date.now() - signalledAtMs).toBeLessThan(15_000);
      const failure = dispatcher.lines.find((line) => line.msg === 'dispatcher shutdown failed');
      expect((failure?.err as { message: string }).message).toContain('drain workers');
      expect(dispatcher.lines.map((line) => line.msg)).toContain(
        'grace period over with no calls in flight; the workers are still closing, most likely waiting for Redis',
      );
    } finally {
      await redis.stop();
    }
  }, 60_000);

  test('logs each worker error once across queues', async () => {
    // With Redis gone, every queue's worker reports the same connection errors.
    const redis = await startPrivateRedis();
    try {
      const queues = Array.from({ length: 20 }, (_, index) => `error-lines-${index}`);
      const dispatcher = await startOnPrivateRedis(redis, 'e2e-error-lines', queues);
      await redis.stop();
      await waitFor(
        () => dispatcher.lines.some((line) => line.msg === 'worker error'),
        10_000,
        'a worker to log the lost connection',
      );
      // Every worker has tried to reconnect at least once by then.
      await new Promise((resolve) => setTimeout(resolve, 3_000));

      const linesPerMessage = new Map<string, number>();
      for (const line of dispatcher.lines.filter((entry) => entry.msg === 'worker error')) {
        const message = (line.err as { message: string }).message;
        linesPerMessage.set(message, (linesPerMessage.get(message) ?? 0) + 1);
      }
      expect(linesPerMessage.size).toBeGreaterThan(0);
      expect([...linesPerMessage].filter(([, count]) => count > 1)).toEqual([]);
    } finally {
      await redis.stop();
    }
  }, 60_000);

  test('pnpm dispatcher exits 1 naming a missing variable', async () => {
    const env = stack.dispatcherEnv();
    delete env.PUBLIC_API_URL;
    const dispatcher = spawnDispatcher(env, 'pnpm');
    processes.push(dispatcher);

    const { code } = await dispatcher.exited;

    expect(code).toBe(1);
    const fatal = dispatcher.lines.find(
      (line) => line.msg === 'invalid configuration; not starting',
    );
    expect((fatal?.err as { message: string }).message).toContain('PUBLIC_API_URL is required');
  }, 60_000);

  test('exits 1 naming Redis when it cannot be reached', async () => {
    const dispatcher = spawnDispatcher(
      stack.dispatcherEnv({ REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'info' }),
    );
    processes.push(dispatcher);

    const { code } = await dispatcher.exited;

    expect(code).toBe(1);
    const fatal = dispatcher.lines.find((line) => line.msg === 'dispatcher failed to start');
    expect((fatal?.err as { message: string }).message).toContain(
      'Cannot reach Redis at redis://127.0.0.1:1',
    );
  }, 60_000);
});
