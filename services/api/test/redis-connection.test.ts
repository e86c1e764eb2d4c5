import { Job, Queue } from 'bullmq';
import { createHarness, json, type Harness } from './harness';

// The API's connection sends the commands of concurrent requests in shared pipelines. Each
// request must still get its own reply, and an error only where its own command failed.

const CONCURRENT_POSTS = 40;

let harness: Harness;

beforeAll(async () => {
  harness = await createHarness('redis-connection');
});

afterAll(async () => {
  await harness.close();
});

interface AddedJob {
  id: string;
  data: { n: number };
}

function postOne(queue: string, n: number): Promise<Response> {
  return harness.send('POST', `/queues/${queue}/jobs`, [{ name: 'concurrent', data: { n } }]);
}

test('batches commands issued together', async () => {
  const replies = [harness.redis.ping(), harness.redis.ping(), harness.redis.ping()];

  expect(harness.redis.autoPipelineQueueSize).toBe(3);
  await expect(Promise.all(replies)).resolves.toEqual(['PONG', 'PONG', 'PONG']);
});

test('keeps concurrent posts apart', async () => {
  const numbers = Array.from({ length: CONCURRENT_POSTS }, (_, index) => index);

  const responses = await Promise.all(numbers.map((n) => postOne('concurrent', n)));

  expect(responses.map((response) => response.status)).toEqual(numbers.map(() => 200));
  const added = await Promise.all(responses.map((response) => json<AddedJob[]>(response)));
  expect(added.map(([job]) => job?.data.n)).toEqual(numbers);
  const ids = added.map(([job]) => String(job?.id));
  expect(new Set(ids).size).toBe(CONCURRENT_POSTS);

  const queue = new Queue('concurrent', { connection: harness.redis, prefix: harness.prefix });
  try {
    const stored = await Promise.all(ids.map((id) => Job.fromId(queue, id)));
    expect(stored.map((job) => (job?.data as { n: number } | undefined)?.n)).toEqual(numbers);
  } finally {
    await queue.close();
  }
});

test('fails only posts whose command failed', async () => {
  // BullMQ numbers jobs with INCR on this key, so a value that is not a number fails every
  // add to this queue inside Redis, while adds to other queues succeed.
  await harness.redis.set(`${harness.prefix}:corrupt:id`, 'not-a-number');
  // A new BullMQ Queue waits for its own INFO reply before its first command, so the first
  // posts to two new queues can go out in separate pipelines. Listing both queues first puts
  // the posts below in one pipeline.
  expect((await harness.send('GET', '/queues/corrupt/jobs')).status).toBe(200);
  expect((await harness.send('GET', '/queues/healthy/jobs')).status).toBe(200);
  const numbers = Array.from({ length: CONCURRENT_POSTS }, (_, index) => index);

  const responses = await Promise.all(
    numbers.map((n) => postOne(n % 2 === 0 ? 'corrupt' : 'healthy', n)),
  );

  const statuses = responses.map((response) => response.status);
  expect(statuses).toEqual(numbers.map((n) => (n % 2 === 0 ? 500 : 200)));
  const healthy = await Promise.all(
    responses.filter((response) => response.status === 200).map((r) => json<AddedJob[]>(r)),
  );
  expect(healthy.map(([job]) => job?.data.n)).toEqual(numbers.filter((n) => n % 2 === 1));
  await expect(harness.redis.llen(`${harness.prefix}:corrupt:wait`)).resolves.toBe(0);
  await expect(harness.redis.llen(`${harness.prefix}:healthy:wait`)).resolves.toBe(
    CONCURRENT_POSTS / 2,
  );
});
