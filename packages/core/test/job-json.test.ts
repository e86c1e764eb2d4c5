import { FlowProducer, Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { cleanupPrefix, testRedisUrl, uniquePrefix } from '../../../test/support/redis';
import { JOB_JSON_FIELDS, toJobJson } from '../src/job-json';

// toJobJson builds its object from a list of BullMQ's Job fields instead of copying the job.
// These tests take jobs from every place BullMQ makes them: added, read back, inside a
// worker, finished, in a flow and from a scheduler. Each test checks that no job carries a
// field the list lacks. It also checks that the JSON equals what Job.toJSON() gives.

/** Job properties that `Job.toJSON()` drops or that JSON.stringify skips (a function). */
const LEFT_OUT = new Set(['queue', 'scripts', 'toKey']);
const KNOWN_FIELDS = new Set<string>(JOB_JSON_FIELDS);

const prefix = uniquePrefix('job-json');
const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
const queue = new Queue('jobs', { connection: redis, prefix });
const closers: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await queue.close();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
});

/** Builds the JSON the API returned before toJobJson listed the fields, from Job.toJSON(). */
function jsonFromToJson(job: Job): unknown {
  const json = JSON.parse(JSON.stringify(job)) as Record<string, unknown>;
  json.id = String(job.id);
  json.data = job.data ?? null;
  json.returnvalue = job.returnvalue ?? null;
  json.stacktrace = job.stacktrace ?? [];
  json.delay = job.delay ?? 0;
  json.attemptsStarted = job.attemptsStarted ?? 0;
  return json;
}

function expectSameJson(job: Job): void {
  const unlisted = Object.keys(job).filter((key) => !KNOWN_FIELDS.has(key) && !LEFT_OUT.has(key));
  expect(unlisted).toEqual([]);
  expect(JSON.parse(JSON.stringify(toJobJson(job)))).toEqual(jsonFromToJson(job));
}

async function readBack(source: Queue, id: string | undefined): Promise<Job> {
  const job = await Job.fromId(source, String(id));
  if (!job) throw new Error(`job ${id} is missing`);
  return job;
}

/** Runs one job through a worker and returns the job as the processor saw it. */
async function processOne(
  name: string,
  processor: (job: Job) => Promise<unknown>,
  opts: { attempts?: number } = {},
): Promise<{ inProcessor: Job; settled: Job }> {
  const queueName = `work-${name}`;
  const workQueue = new Queue(queueName, { connection: redis, prefix });
  closers.push(() => workQueue.close());
  let inProcessor: Job | undefined;
  const connection = redis.duplicate();
  closers.push(() => connection.quit());
  const worker = new Worker(
    queueName,
    async (job) => {
      inProcessor = job;
      return processor(job);
    },
    { connection, prefix, name: 'job-json-worker' },
  );
  closers.push(() => worker.close());
  const settled = new Promise<void>((resolve) => {
    worker.once('completed', () => resolve());
    worker.once('failed', () => resolve());
  });
  const added = await workQueue.add(name, { value: 1 }, opts);
  await settled;
  if (!inProcessor) throw new Error('the processor never ran');
  return { inProcessor, settled: await readBack(workQueue, added.id) };
}

test('a job just added', async () => {
  const job = await queue.add('plain', { orderId: 'order-1' });

  expectSameJson(job);
  expectSameJson(await readBack(queue, job.id));
});

test('a job with most options set', async () => {
  const job = await queue.add(
    'options',
    { nested: { list: [1, 'two', null] } },
    {
      jobId: 'custom-id',
      delay: 60_000,
      priority: 3,
      attempts: 4,
      backoff: { type: 'exponential', delay: 500 },
      removeOnComplete: 10,
      removeOnFail: { age: 60 },
      deduplication: { id: 'dedupe-1' },
    },
  );

  expectSameJson(job);
  expectSameJson(await readBack(queue, job.id));
});

test('a job with no data', async () => {
  const job = await queue.add('empty', undefined);

  expectSameJson(job);
  expectSameJson(await readBack(queue, job.id));
});

test('a parent and a child of a flow', async () => {
  const flows = new FlowProducer({ connection: redis, prefix });
  closers.push(() => flows.close());

  const tree = await flows.add({
    name: 'parent',
    queueName: 'jobs',
    data: { step: 'parent' },
    children: [{ name: 'child', queueName: 'jobs', data: { step: 'child' } }],
  });
  const child = tree.children?.[0]?.job;
  if (!child) throw new Error('the flow has no child');

  expectSameJson(tree.job);
  expectSameJson(child);
  expectSameJson(await readBack(queue, child.id));
});

test('the first job of a job scheduler', async () => {
  const first = await queue.upsertJobScheduler(
    'every-minute',
    { every: 60_000 },
    {
      name: 'scheduled',
      data: { run: 1 },
    },
  );

  expectSameJson(first);
  expectSameJson(await readBack(queue, first.id));
});

test('a job inside a worker and after it completed', async () => {
  const { inProcessor, settled } = await processOne('completes', async () => ({ total: 3 }));

  expect(inProcessor.token).toEqual(expect.any(String));
  expect(inProcessor.processedBy).toBe('job-json-worker');
  expectSameJson(inProcessor);
  expect(settled.finishedOn).toEqual(expect.any(Number));
  expectSameJson(settled);
});

test('a failed job and a discarded one', async () => {
  const failed = await processOne('fails', async () => {
    throw new Error('the endpoint refused');
  });
  const discarded = await processOne(
    'discards',
    async (job) => {
      job.discard();
      throw new Error('not worth retrying');
    },
    { attempts: 3 },
  );

  expect(failed.settled.failedReason).toBe('the endpoint refused');
  expectSameJson(failed.settled);
  expect(Object.keys(discarded.inProcessor)).toContain('discarded');
  expectSameJson(discarded.inProcessor);
  expectSameJson(discarded.settled);
});
