import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  restartPrivateRedisOnPort,
  startPrivateRedis,
  type PrivateRedis,
} from '../../../test/support/redis';
import { startRedisProxy } from '../../../test/support/redis-proxy';
import { startEndpointServer, waitFor } from './support/endpoint-server';
import { register } from './support/test-dispatcher';

// Closes a dispatcher after Redis has stopped, gone silent or come back, inside a process of
// its own as a program that embeds it would, and checks that the process can then exit. The
// workers wait on commands that Redis never replies to, the QUIT of their blocking connections
// among them. Their connections used to keep reconnecting after close() had returned, and
// their timers kept the process alive. test/e2e/dispatcher-processes.test.ts stops the
// dispatcher's own process, whose main exits once close() returns.

const PREFIX = 'dispatcher-close-without-redis';
const QUEUE_COUNT = 3;
const CLOSE_IN_PROCESS = path.join(__dirname, 'fixtures', 'close-in-process.ts');
/** Far longer than start-up or close() needs. Each wait ends as soon as its line arrives. */
const STEP_WITHIN_MS = 20_000;
/** Time from the start of close() until the Redis of the 'Redis back' test runs again. */
const REDIS_BACK_AFTER_MS = 300;
/** Time allowed to the process to exit after close() has settled. */
const EXIT_WITHIN_MS = 10_000;

let redis: PrivateRedis;

beforeEach(async () => {
  redis = await startPrivateRedis();
});

afterEach(async () => {
  await redis.stop();
});

/** Returns what `waiting` settles to, or rejects naming `step` when that takes over `ms`. */
async function within<T>(waiting: Promise<T>, ms: number, step: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${step} took over ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([waiting, expired]);
  } finally {
    clearTimeout(timer);
  }
}

const QUEUE_NAMES = Array.from({ length: QUEUE_COUNT }, (_, index) => `gone-${index}`);

/** Registers every queue of QUEUE_NAMES with `endpointUrl`, through a connection of its own. */
async function registerQueues(endpointUrl = 'http://127.0.0.1:9/'): Promise<void> {
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    for (const queue of QUEUE_NAMES) {
      await register(admin, PREFIX, { queue, endpoint: { type: 'http', url: endpointUrl } });
    }
  } finally {
    admin.disconnect();
  }
}

/** Adds one job to every queue of QUEUE_NAMES. */
async function addJobs(): Promise<void> {
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    for (const name of QUEUE_NAMES) {
      const queue = new Queue(name, { connection: admin, prefix: PREFIX });
      await queue.add('held', { name });
      await queue.close();
    }
  } finally {
    admin.disconnect();
  }
}

/** What close() reports when the workers could not close within the grace period. */
const GAVE_UP_ON_WORKERS = /^failed: .*drain workers/;

/**
 * Runs the fixture's dispatcher against `redisUrl`, calls `cutOff` once every worker runs,
 * then closes the dispatcher, calls `afterClose`, and checks that close() reports an
 * outcome matching `expectedOutcome` and that the process exits.
 */
async function expectExitAfterClose(
  redisUrl: string,
  cutOff: () => Promise<void>,
  afterClose: () => Promise<void> = async () => undefined,
  expectedOutcome: RegExp = GAVE_UP_ON_WORKERS,
): Promise<void> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLOSE_IN_PROCESS, redisUrl, PREFIX, String(QUEUE_COUNT)],
    { cwd: path.join(__dirname, '..'), stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async () => (await lines.next()).value as string | undefined;
  try {
    expect(await within(nextLine(), STEP_WITHIN_MS, 'start-up')).toBe('started');
    await cutOff();
    child.stdin.end('close\n');
    await afterClose();

    const result = JSON.parse((await within(nextLine(), STEP_WITHIN_MS, 'close()')) ?? '') as {
      outcome: string;
      state: string;
      runningQueues: string[];
    };
    expect(result.outcome).toMatch(expectedOutcome);
    expect(result.state).toBe('stopped');
    expect(result.runningQueues).toEqual([]);
    expect(await within(exited, EXIT_WITHIN_MS, 'the exit after close()')).toBe(0);
  } finally {
    child.kill('SIGKILL');
  }
}

test('process exits after close with Redis stopped', async () => {
  await registerQueues();

  await expectExitAfterClose(redis.url, () => redis.stop());
});

// BullMQ ends each worker's blocking connection when the worker's close begins. A connection
// waiting between two reconnect attempts then stops reconnecting (ioredis 5.11), and close()
// gives up on its worker as when Redis stays away. Which state a connection is in depends on
// timing: in one run of the whole suite the workers closed once Redis was back, and close()
// succeeded. Either way the process must exit.
test('process exits after close with Redis back', async () => {
  await registerQueues();

  await expectExitAfterClose(
    redis.url,
    () => redis.stop(),
    async () => {
      await new Promise((resolve) => setTimeout(resolve, REDIS_BACK_AFTER_MS));
      redis = await restartPrivateRedisOnPort(redis.port);
    },
    new RegExp(`^closed$|${GAVE_UP_ON_WORKERS.source}`),
  );
});

// The endpoint never responds, so every job is still in flight when Redis stops. BullMQ then
// cannot move the jobs back, and its retries of those moves must not keep close() from
// finishing: they used to retry without a pause and keep a core busy.
test('process exits after close with calls in flight', async () => {
  const endpoint = await startEndpointServer(() => undefined);
  try {
    await registerQueues(endpoint.url);

    await expectExitAfterClose(redis.url, async () => {
      await addJobs();
      await waitFor(
        () => endpoint.inFlight === QUEUE_COUNT,
        STEP_WITHIN_MS,
        'a call in flight for every queue',
      );
      await redis.stop();
    });
  } finally {
    await endpoint.close();
  }
});

// A Redis that keeps its connections open but no longer replies, as behind a network cut.
test('process exits after close with Redis silent', async () => {
  await registerQueues();
  const proxy = await startRedisProxy(redis.port);
  try {
    await expectExitAfterClose(proxy.url, async () => proxy.holdReplies());
  } finally {
    await proxy.close();
  }
});
