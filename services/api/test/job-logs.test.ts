import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { testRedisUrl } from '../../../test/support/redis';
import { createHarness, json, type Harness } from './harness';

// GET /queues/:queue/jobs/:id/logs reads the log list with a script of its own instead of
// BullMQ's Queue.getJobLogs. These tests check that both return the same lines and count,
// and that an id whose log key contains a value of another type is an unknown job.

let harness: Harness;
let connection: Redis;
let queue: Queue;

beforeAll(async () => {
  harness = await createHarness('job-logs');
  connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  queue = new Queue('logs-q', { connection, prefix: harness.prefix });
});

afterAll(async () => {
  await queue.close();
  await harness.close();
  connection.disconnect();
});

async function getLogs(path: string): Promise<{ status: number; body: unknown }> {
  const response = await harness.send('GET', path);
  return { status: response.status, body: await json(response) };
}

test('log ranges match Queue.getJobLogs', async () => {
  const lineCounts = [0, 1, 5];
  const ids: string[] = [];
  for (const count of lineCounts) {
    const job = await queue.add('logged', { count });
    for (let line = 0; line < count; line += 1) {
      await queue.addJobLog(String(job.id), `line ${line} of ${count} ü 😀`);
    }
    ids.push(String(job.id));
  }
  const starts = [0, 1, 4, 5, 6, 1_000_000_000];
  const lengths = [1, 2, 5, 1000];

  for (const id of ids) {
    for (const start of starts) {
      for (const length of lengths) {
        const path = `/queues/logs-q/jobs/${id}/logs?start=${start}&length=${length}`;
        const expected = await queue.getJobLogs(id, start, start + length - 1, true);
        const reply = await getLogs(path);
        expect({ path, ...reply }).toEqual({ path, status: 200, body: expected });
      }
    }
  }
});

test('log key of another type is 404', async () => {
  // A deduplication id "logs" makes BullMQ write the string key "<prefix>:<queue>:de:logs",
  // and a job scheduler "logs" the hash "<prefix>:<queue>:repeat:logs". These are the log keys
  // of the ids "de" and "repeat", which name no job.
  const added = await harness.send('POST', '/queues/logs-q/jobs', [
    { name: 'deduplicated', opts: { deduplication: { id: 'logs' } } },
  ]);
  expect(added.status).toBe(200);
  await queue.upsertJobScheduler('logs', { every: 60_000 }, { name: 'scheduled' });
  await expect(connection.type(`${harness.prefix}:logs-q:de:logs`)).resolves.toBe('string');
  await expect(connection.type(`${harness.prefix}:logs-q:repeat:logs`)).resolves.toBe('hash');

  for (const id of ['de', 'repeat']) {
    const reply = await getLogs(`/queues/logs-q/jobs/${id}/logs`);
    expect({ id, status: reply.status }).toEqual({ id, status: 404 });
    expect({ id, body: reply.body }).toEqual({
      id,
      body: {
        error: { code: 'not_found', message: `Job "${id}" was not found in queue "logs-q".` },
      },
    });
  }
});

test('first logs read beside other commands', async () => {
  // ioredis gives each auto-pipeline batch the commands defined when the batch was created.
  // A fresh app's first logs read runs while the job lookup's batch is still waiting.
  const fresh = await createHarness('job-logs-fresh');
  try {
    const added = await fresh.send('POST', '/queues/fresh/jobs', [{ name: 'logged' }]);
    const [job] = await json<Array<{ id: string }>>(added);
    const id = job?.id;
    const pending = fresh.redis.ping();

    const response = await fresh.send('GET', `/queues/fresh/jobs/${id}/logs`);

    await pending;
    expect(response.status).toBe(200);
    await expect(json(response)).resolves.toEqual({ logs: [], count: 0 });
  } finally {
    await fresh.close();
  }
});
