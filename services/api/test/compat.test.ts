import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { cleanupPrefix, testRedisUrl, uniquePrefix } from '../../../test/support/redis';
import type { ApiServer } from '../src/server';
import { startLoopbackApi } from './harness';

// Drives a real API server over HTTP the way a BullMQ Proxy client does: same paths,
// methods, bodies and status codes, reading the job JSON BullMQ's Job.toJSON() produces.

const TOKEN = 'compat-token';
let server: ApiServer;
let redis: Redis;
let prefix: string;

async function call(method: string, path: string, body?: unknown, token = TOKEN) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text), response };
}

beforeAll(async () => {
  prefix = uniquePrefix('compat');
  redis = new Redis(testRedisUrl());
  server = await startLoopbackApi(prefix, { AUTH_TOKENS: TOKEN });
});

afterAll(async () => {
  await server.close();
  await cleanupPrefix(redis, prefix);
  redis.disconnect();
});

describe('BullMQ Proxy compatibility', () => {
  test('worker registry round trip', async () => {
    const registration = {
      queue: 'emails',
      endpoint: {
        url: 'https://worker.example.com/process',
        method: 'post',
        headers: { 'X-Api-Key': 'secret-value' },
        timeout: 5000,
      },
      opts: { concurrency: 5 },
    };

    const registered = await call('POST', '/workers', registration);
    expect(registered.status).toBe(200);

    const listed = await call('GET', '/workers');
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ emails: 'https://worker.example.com/process' });
    expect(JSON.stringify(listed.body)).not.toContain('secret-value');

    const removed = await call('DELETE', '/workers/emails');
    expect(removed.status).toBe(200);
    const removedAgain = await call('DELETE', '/workers/emails');
    expect(removedAgain.status).toBe(404);
    expect((await call('GET', '/workers')).body).toEqual({});
  });

  test('adds jobs and returns job JSON', async () => {
    const added = await call('POST', '/queues/reports/jobs', [
      { name: 'monthly', data: { month: 11 } },
      { name: 'weekly', data: 'text', opts: { attempts: 3, backoff: 1000 } },
    ]);

    expect(added.status).toBe(200);
    expect(added.body).toHaveLength(2);
    const [first, second] = added.body;
    expect(typeof first.id).toBe('string');
    expect(first.name).toBe('monthly');
    expect(first.data).toEqual({ month: 11 });
    expect(second.opts.attempts).toBe(3);
    // BullMQ stores a numeric backoff in its object form.
    expect(second.opts.backoff).toEqual({ type: 'fixed', delay: 1000 });
    for (const field of ['progress', 'attemptsMade', 'timestamp', 'delay', 'queueQualifiedName']) {
      expect(first).toHaveProperty(field);
    }
    expect(first.queueQualifiedName).toBe(`${prefix}:reports`);
  });

  test('lists jobs with counts and pagination', async () => {
    await call(
      'POST',
      '/queues/listing/jobs',
      Array.from({ length: 5 }, (_, index) => ({ name: `job-${index}`, data: index })),
    );

    const page = await call('GET', '/queues/listing/jobs?statuses=waiting&start=1&length=2');
    expect(page.status).toBe(200);
    // BullMQ counts paused jobs beside waiting ones.
    expect(page.body.counts).toMatchObject({ waiting: 5 });
    expect(page.body.start).toBe(1);
    expect(page.body.length).toBe(2);
    expect(page.body.jobs).toHaveLength(2);

    const everything = await call('GET', '/queues/listing/jobs');
    for (const state of ['active', 'completed', 'delayed', 'failed', 'prioritized', 'waiting']) {
      expect(everything.body.counts).toHaveProperty(state);
    }
    expect(everything.body.counts).not.toHaveProperty('waiting-children');
  });

  test('gets one job with its state', async () => {
    const added = await call('POST', '/queues/single/jobs', [{ name: 'one', data: null }]);
    const id = added.body[0].id;

    const fetched = await call('GET', `/queues/single/jobs/${id}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body.id).toBe(id);
    expect(fetched.body.state).toBe('waiting');
    expect(fetched.body.data).toBeNull();

    const missing = await call('GET', '/queues/single/jobs/does-not-exist');
    expect(missing.status).toBe(404);
  });

  test('progress and logs with the job token', async () => {
    const queue = 'callbacks';
    const added = await call('POST', `/queues/${queue}/jobs`, [{ name: 'work', data: 1 }]);
    const id: string = added.body[0].id;
    const results: number[] = [];
    const workerConnection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });

    const worker = new Worker(
      queue,
      async (job: Job, token?: string) => {
        const progress = await call('POST', `/queues/${queue}/jobs/${job.id}/progress`, 42, token);
        const log = await call('POST', `/queues/${queue}/jobs/${job.id}/logs`, 'halfway', token);
        results.push(progress.status, log.status);
        return 'done';
      },
      { connection: workerConnection, prefix },
    );
    await new Promise<void>((resolve) => worker.once('completed', () => resolve()));
    await worker.close();
    workerConnection.disconnect();

    expect(results).toEqual([200, 200]);
    const fetched = await call('GET', `/queues/${queue}/jobs/${id}`);
    expect(fetched.body.progress).toBe(42);
    expect(fetched.body.returnvalue).toBe('done');
    expect(fetched.body.state).toBe('completed');

    const logs = await call('GET', `/queues/${queue}/jobs/${id}/logs`);
    expect(logs.status).toBe(200);
    expect(logs.body).toEqual({ logs: ['halfway'], count: 1 });
  });

  test('rejects requests without the API token', async () => {
    const response = await fetch(`${server.url}/workers`);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toContain('application/json');
    const body = (await response.json()) as { error: { code: string } };
    expect(body.error.code).toBe('unauthorized');
  });

  test('accepts the bearer scheme in any case', async () => {
    const response = await fetch(`${server.url}/workers`, {
      headers: { authorization: `BEARER ${TOKEN}` },
    });
    expect(response.status).toBe(200);
  });
});
