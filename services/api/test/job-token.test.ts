import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { deleteKeys, testRedisUrl } from '../../../test/support/redis';
import { createHarness, json, type Harness } from './harness';

// The job token is the job's BullMQ lock token: it authorises progress and log callbacks
// for that job, only while that attempt holds the lock.

let harness: Harness;
let workerConnection: Redis;

beforeAll(async () => {
  harness = await createHarness('job-token');
  workerConnection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
});

afterAll(async () => {
  workerConnection.disconnect();
  await harness.close();
});

function callback(
  queue: string,
  jobId: string,
  kind: 'progress' | 'logs',
  token: string | undefined,
  body: unknown,
) {
  return harness.request(`/queues/${queue}/jobs/${jobId}/${kind}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
}

async function addJob(queue: string, opts: Record<string, unknown> = {}): Promise<string> {
  const response = await harness.send('POST', `/queues/${queue}/jobs`, [
    { name: 'work', data: 1, opts },
  ]);
  const [job] = await json<Array<{ id: string }>>(response);
  return job?.id as string;
}

/**
 * Runs one worker whose processor passes each (job, token) to `during` and keeps the job
 * active until `during` settles.
 */
async function whileActive(
  queue: string,
  during: (job: Job, token: string) => Promise<void>,
  jobsToWaitFor = 1,
): Promise<void> {
  let finished = 0;
  let failure: unknown;
  const worker = new Worker(
    queue,
    async (job: Job, token?: string) => {
      try {
        await during(job, token as string);
      } catch (error) {
        failure = error;
      }
      if (job.attemptsMade === 0 && job.opts.attempts && job.opts.attempts > 1) {
        throw new Error('fail the first attempt on purpose');
      }
      return 'done';
    },
    { connection: workerConnection, prefix: harness.prefix },
  );
  await new Promise<void>((resolve) => {
    const settle = () => {
      finished += 1;
      if (finished >= jobsToWaitFor) resolve();
    };
    worker.on('completed', settle);
    worker.on('failed', settle);
  });
  await worker.close();
  if (failure) throw failure;
}

test('current token updates progress and logs', async () => {
  const queue = 'token-current';
  const id = await addJob(queue);

  await whileActive(queue, async (job, token) => {
    expect((await callback(queue, String(job.id), 'progress', token, { step: 1 })).status).toBe(
      200,
    );
    expect((await callback(queue, String(job.id), 'logs', token, 'a line')).status).toBe(200);
  });

  const fetched = await harness.request(`/queues/${queue}/jobs/${id}`, {
    headers: { authorization: 'Bearer test-api-token' },
  });
  expect((await json(fetched)).progress).toEqual({ step: 1 });
});

test('token of another job gets 401', async () => {
  const queue = 'token-other';
  const first = await addJob(queue);
  const second = await addJob(queue);
  const tokens = new Map<string, string>();
  let bothActive!: () => void;
  const bothActivePromise = new Promise<void>((resolve) => (bothActive = resolve));
  let checked!: () => void;
  const checkedPromise = new Promise<void>((resolve) => (checked = resolve));
  const statuses: number[] = [];

  // Both jobs hold their locks at the same time, so the only reason for 401 is the mismatch.
  const worker = new Worker(
    queue,
    async (job: Job, token?: string) => {
      tokens.set(String(job.id), token as string);
      if (tokens.size === 2) bothActive();
      await bothActivePromise;
      if (String(job.id) === second) {
        statuses.push((await callback(queue, first, 'progress', token, 50)).status);
        statuses.push((await callback(queue, first, 'progress', tokens.get(first), 60)).status);
        checked();
      }
      await checkedPromise;
      return 'done';
    },
    { connection: workerConnection, prefix: harness.prefix, concurrency: 2 },
  );
  await checkedPromise;
  await worker.close();

  expect(statuses).toEqual([401, 200]);
});

test('token of an earlier attempt gets 401', async () => {
  const queue = 'token-attempt';
  const id = await addJob(queue, { attempts: 2 });
  const tokens: string[] = [];

  await whileActive(
    queue,
    async (_job, token) => {
      tokens.push(token);
      if (tokens.length < 2) return;
      expect(tokens[0]).not.toBe(tokens[1]);
      const stale = await callback(queue, id, 'progress', tokens[0], 10);
      expect(stale.status).toBe(401);
      const current = await callback(queue, id, 'logs', tokens[1], 'second attempt');
      expect(current.status).toBe(200);
    },
    2,
  );
  expect(tokens).toHaveLength(2);
});

test('token of a finished job gets 401', async () => {
  const queue = 'token-finished';
  const id = await addJob(queue);
  let saved = '';
  await whileActive(queue, async (_job, token) => {
    saved = token;
  });

  const progress = await callback(queue, id, 'progress', saved, 99);
  expect(progress.status).toBe(401);
  const logs = await callback(queue, id, 'logs', saved, 'late');
  expect(logs.status).toBe(401);
  const body = await json<{ error: { code: string } }>(logs);
  expect(body.error.code).toBe('unauthorized');
});

test('missing token gets 401', async () => {
  const queue = 'token-missing';
  const id = await addJob(queue);
  const response = await callback(queue, id, 'progress', undefined, 1);
  expect(response.status).toBe(401);
});

test('API token is not a job token', async () => {
  const queue = 'token-api';
  const id = await addJob(queue);
  const response = await callback(queue, id, 'progress', 'test-api-token', 1);
  expect(response.status).toBe(401);
});

test('callback for a removed job gets 404 and creates no key', async () => {
  const queue = 'token-removed';
  const id = await addJob(queue);
  let saved = '';
  await whileActive(queue, async (_job, token) => {
    saved = token;
  });
  await deleteKeys(harness.redis, `${harness.prefix}:${queue}:${id}*`);

  const progress = await callback(queue, id, 'progress', saved, 5);
  expect(progress.status).toBe(404);
  const logs = await callback(queue, id, 'logs', saved, 'gone');
  expect(logs.status).toBe(404);

  const left = await harness.redis.keys(`${harness.prefix}:${queue}:${id}*`);
  expect(left).toEqual([]);
});

test('callback for a job that never existed gets 404 and creates no key', async () => {
  const queue = 'token-never';
  const before = await harness.redis.keys(`${harness.prefix}:${queue}:*`);
  const response = await callback(queue, 'ghost', 'logs', 'whatever', 'line');
  expect(response.status).toBe(404);
  const after = await harness.redis.keys(`${harness.prefix}:${queue}:*`);
  expect(after).toEqual(before);
});
