import { WorkerRegistry } from '@bullpen/core';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { testRedisUrl } from '../../../test/support/redis';
import { createHarness, json, type Harness } from './harness';

type ErrorBody = {
  error: { code: string; message: string; issues: { path: string; message: string }[] };
};

let harness: Harness;

beforeAll(async () => {
  harness = await createHarness('validation');
});

afterAll(async () => {
  await harness.close();
});

async function addJobs(queue: string, jobs: unknown) {
  return harness.send('POST', `/queues/${queue}/jobs`, jobs);
}

async function expectRejected(response: Response, path: string, messagePart: string) {
  expect(response.status).toBe(400);
  const body = await json<ErrorBody>(response);
  expect(body.error.code).toBe('validation_failed');
  const issue = body.error.issues.find((candidate) => candidate.path === path);
  expect(issue).toBeDefined();
  expect(issue?.message).toContain(messagePart);
  expect(body.error.message).toContain(path);
}

describe('job data', () => {
  test.each([
    ['zero', 0],
    ['false', false],
    ['empty string', ''],
    ['null', null],
  ])('keeps %s as data', async (_label, data) => {
    const response = await addJobs('data-values', [{ name: 'falsy', data }]);
    expect(response.status).toBe(200);
    const [created] = await json<Array<{ id: string; data: unknown }>>(response);

    const fetched = await harness.request(`/queues/data-values/jobs/${created?.id}`, {
      headers: { authorization: 'Bearer test-api-token' },
    });
    expect((await json(fetched)).data).toEqual(data);
  });

  test('stores missing data as null', async () => {
    const response = await addJobs('data-missing', [{ name: 'no-data' }]);
    expect(response.status).toBe(200);
    const [created] = await json<Array<{ data: unknown }>>(response);
    expect(created?.data).toBeNull();
  });
});

describe('job options', () => {
  test('accepts a numeric backoff', async () => {
    const response = await addJobs('backoff', [
      { name: 'retry', data: 1, opts: { attempts: 3, backoff: 2500 } },
    ]);
    expect(response.status).toBe(200);
    const [created] = await json<Array<{ opts: { backoff: unknown } }>>(response);
    expect(created?.opts.backoff).toEqual({ type: 'fixed', delay: 2500 });
  });

  test('accepts an exponential backoff object', async () => {
    const response = await addJobs('backoff', [
      { name: 'retry', opts: { attempts: 3, backoff: { type: 'exponential', delay: 100 } } },
    ]);
    expect(response.status).toBe(200);
  });

  test('rejects an unknown backoff type', async () => {
    const response = await addJobs('backoff', [
      { name: 'retry', opts: { backoff: { type: 'linear', delay: 100 } } },
    ]);
    await expectRejected(response, '0.opts.backoff', 'must be');
  });

  test('accepts priority 0', async () => {
    const response = await addJobs('priority', [{ name: 'p', opts: { priority: 0 } }]);
    expect(response.status).toBe(200);
  });

  test('rejects priority above the maximum', async () => {
    // BullMQ 5 accepts 0 to 2^21 - 1 and throws for 2^21 itself.
    const response = await addJobs('priority', [{ name: 'p', opts: { priority: 2_097_152 } }]);
    await expectRejected(response, '0.opts.priority', 'at most 2097151');
  });

  test('rejects a negative priority', async () => {
    const response = await addJobs('priority', [{ name: 'p', opts: { priority: -1 } }]);
    await expectRejected(response, '0.opts.priority', '>= 0');
  });

  test('rejects an all-digit jobId', async () => {
    const response = await addJobs('job-ids', [{ name: 'j', opts: { jobId: '123' } }]);
    await expectRejected(response, '0.opts.jobId', 'must not be all digits');
  });

  test('rejects a jobId containing a colon', async () => {
    const response = await addJobs('job-ids', [{ name: 'j', opts: { jobId: 'a:b' } }]);
    await expectRejected(response, '0.opts.jobId', 'must not contain ":"');
  });

  test('rejects an empty jobId', async () => {
    const response = await addJobs('job-ids', [{ name: 'j', opts: { jobId: '' } }]);
    await expectRejected(response, '0.opts.jobId', 'must not be empty');
  });

  test.each([
    ['attempts', 0, 'at least 1'],
    ['attempts', 1.5, 'integer'],
    ['delay', -1, '>= 0'],
    ['lifo', 'yes', 'boolean'],
  ])('rejects %s = %p', async (option, value, message) => {
    const response = await addJobs('options', [{ name: 'o', opts: { [option]: value } }]);
    await expectRejected(response, `0.opts.${option}`, message);
  });

  test.each([
    ['keepLogs', { keepLogs: 0 }, 'keepLogs', 'must be at least 1 (given: 0)'],
    ['stackTraceLimit', { stackTraceLimit: 101 }, 'stackTraceLimit', 'must be from 0 to 100'],
    ['stackTraceLimit', { stackTraceLimit: -1 }, 'stackTraceLimit', 'must be from 0 to 100'],
    [
      'deduplication.ttl',
      { deduplication: { id: 'd', ttl: 0 } },
      'deduplication.ttl',
      'must be at least 1 ms',
    ],
    ['backoff.jitter', { backoff: { type: 'fixed', jitter: 2 } }, 'backoff.jitter', 'from 0 to 1'],
    [
      'repeat.startDate',
      { repeat: { every: 1000, startDate: -5 } },
      'repeat.startDate',
      'must be at least 0',
    ],
  ])('names the range of %s', async (_option, opts, path, message) => {
    const response = await addJobs('ranges', [{ name: 'r', opts }]);
    await expectRejected(response, `0.opts.${path}`, message);
  });

  test.each([
    ['removeOnFail', { removeOnFail: { age: 1, limit: 1.5 } }, 'an integer count'],
    ['repeat.startDate', { repeat: { every: 60_000, startDate: 1.5 } }, 'an integer number of ms'],
    ['backoff', { backoff: { type: 'fixed', delay: 1.5 } }, 'integer ms'],
  ])('says integer for a fraction in %s', async (path, opts, message) => {
    const response = await addJobs('ranges', [{ name: 'r', opts }]);
    await expectRejected(response, `0.opts.${path}`, message);
  });

  test('names the maximum beyond 2^53', async () => {
    const response = await addJobs('ranges', [{ name: 'r', opts: { attempts: 2 ** 60 } }]);

    expect(response.status).toBe(400);
    const { issues } = (await json<ErrorBody>(response)).error;
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('0.opts.attempts');
    expect(issues[0]?.message).toContain('must be at most 1000000');
  });

  test('rejects an unknown option', async () => {
    const response = await addJobs('options', [{ name: 'o', opts: { attemps: 3 } }]);
    expect(response.status).toBe(400);
    const body = await json<ErrorBody>(response);
    expect(body.error.issues[0]?.path).toBe('0.opts');
    expect(body.error.issues[0]?.message).toContain('attemps');
  });

  test.each([
    ['name', [{ name: 'a\u0000b' }], '0.name'],
    ['name', [{ name: 'line\nbreak' }], '0.name'],
    ['jobId', [{ name: 'j', opts: { jobId: 'a\u0001b' } }], '0.opts.jobId'],
    ['C1 name', [{ name: 'a\u0085b' }], '0.name'],
    ['C1 jobId', [{ name: 'j', opts: { jobId: 'id\u0080x' } }], '0.opts.jobId'],
    [
      'deduplication id',
      [{ name: 'j', opts: { deduplication: { id: 'd\u007f' } } }],
      '0.opts.deduplication.id',
    ],
  ])('rejects a control character in %s', async (_field, jobs, path) => {
    const response = await addJobs('controls', jobs);
    await expectRejected(response, path, 'must not contain control characters');
  });

  test('rejects an empty job name', async () => {
    const response = await addJobs('names', [{ name: '' }]);
    await expectRejected(response, '0.name', 'must not be empty');
  });

  test('rejects a body that is not an array', async () => {
    const response = await addJobs('names', { name: 'single' });
    await expectRejected(response, '(body)', 'must be a JSON array of jobs');
  });

  test('adds nothing when one job of a batch is invalid', async () => {
    const response = await addJobs('atomic', [
      { name: 'good' },
      { name: 'bad', opts: { delay: -5 } },
    ]);
    expect(response.status).toBe(400);
    const list = await harness.request('/queues/atomic/jobs?statuses=waiting,delayed', {
      headers: { authorization: 'Bearer test-api-token' },
    });
    expect((await json<{ jobs: unknown[] }>(list)).jobs).toHaveLength(0);
  });

  test('returns the existing job for a duplicate jobId', async () => {
    const first = await addJobs('dedupe', [
      { name: 'once', data: 'first', opts: { jobId: 'invoice-7' } },
    ]);
    const second = await addJobs('dedupe', [
      { name: 'once', data: 'second', opts: { jobId: 'invoice-7' } },
    ]);

    const [created] = await json<Array<{ id: string; duplicate?: boolean }>>(first);
    const [existing] = await json<Array<{ id: string; data: string; duplicate?: boolean }>>(second);
    expect(created?.duplicate).toBeUndefined();
    expect(existing?.id).toBe('invoice-7');
    expect(existing?.duplicate).toBe(true);
    expect(existing?.data).toBe('first');
  });

  test('returns the existing job for a deduplicated job', async () => {
    const opts = { deduplication: { id: 'report-2026-11' } };
    const first = await addJobs('dedupe-id', [{ name: 'report', data: 1, opts }]);
    const second = await addJobs('dedupe-id', [{ name: 'report', data: 2, opts }]);

    const [created] = await json<Array<{ id: string; duplicate?: boolean }>>(first);
    const [existing] = await json<Array<{ id: string; data: number; duplicate?: boolean }>>(second);
    expect(created?.duplicate).toBeUndefined();
    expect(existing?.id).toBe(created?.id);
    expect(existing?.duplicate).toBe(true);
    expect(existing?.data).toBe(1);
  });
});

describe('repeat', () => {
  test('creates a job scheduler for every', async () => {
    const response = await addJobs('repeat-every', [
      { name: 'tick', data: { n: 1 }, opts: { repeat: { every: 60_000 } } },
    ]);
    expect(response.status).toBe(200);

    const queue = new Queue('repeat-every', { connection: harness.redis, prefix: harness.prefix });
    const schedulers = await queue.getJobSchedulers();
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]?.every).toBe(60_000);
    expect(schedulers[0]?.name).toBe('tick');
    await queue.close();
  });

  test('creates a job scheduler for a cron pattern', async () => {
    const response = await addJobs('repeat-cron', [
      { name: 'nightly', opts: { repeat: { pattern: '0 3 * * *', tz: 'Europe/Berlin' } } },
    ]);
    expect(response.status).toBe(200);

    const queue = new Queue('repeat-cron', { connection: harness.redis, prefix: harness.prefix });
    const schedulers = await queue.getJobSchedulers();
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]?.pattern).toBe('0 3 * * *');
    expect(schedulers[0]?.tz).toBe('Europe/Berlin');
    await queue.close();
  });

  test('updates the scheduler when added again', async () => {
    const job = { name: 'again', opts: { repeat: { every: 30_000 } } };
    await addJobs('repeat-again', [job]);
    await addJobs('repeat-again', [job]);

    const queue = new Queue('repeat-again', { connection: harness.redis, prefix: harness.prefix });
    expect(await queue.getJobSchedulersCount()).toBe(1);
    await queue.close();
  });

  test('rejects an invalid cron pattern', async () => {
    const response = await addJobs('repeat-bad', [
      { name: 'bad', opts: { repeat: { pattern: 'every tuesday' } } },
    ]);
    await expectRejected(response, '0.opts.repeat.pattern', 'not a valid cron pattern');
  });

  test('rejects both every and pattern', async () => {
    const response = await addJobs('repeat-bad', [
      { name: 'bad', opts: { repeat: { every: 1000, pattern: '* * * * *' } } },
    ]);
    await expectRejected(response, '0.opts.repeat', 'exactly one of "every" or "pattern"');
  });

  test('rejects an unknown time zone', async () => {
    const response = await addJobs('repeat-bad', [
      { name: 'bad', opts: { repeat: { pattern: '* * * * *', tz: 'Mars/Olympus' } } },
    ]);
    await expectRejected(response, '0.opts.repeat.tz', 'IANA time zone');
  });
});

describe('worker registration', () => {
  const endpoint = { url: 'https://worker.example.com/run' };

  test('rejects concurrency 0', async () => {
    const response = await harness.send('POST', '/workers', {
      queue: 'w',
      endpoint,
      opts: { concurrency: 0 },
    });
    await expectRejected(response, 'opts.concurrency', 'at least 1');
  });

  test('rejects concurrency above 1000', async () => {
    const response = await harness.send('POST', '/workers', {
      queue: 'w',
      endpoint,
      opts: { concurrency: 1001 },
    });
    await expectRejected(response, 'opts.concurrency', 'at most 1000');
  });

  test('rejects a queue name with a colon', async () => {
    const response = await harness.send('POST', '/workers', { queue: 'a:b', endpoint });
    await expectRejected(response, 'queue', 'must not contain ":"');
  });

  test('accepts a queue name with a hash tag', async () => {
    const response = await harness.send('POST', '/workers', {
      queue: '{tenant-1}-emails',
      endpoint,
    });
    expect(response.status).toBe(200);
  });

  test('rejects an endpoint timeout over 15 minutes', async () => {
    const response = await harness.send('POST', '/workers', {
      queue: 'w',
      endpoint: { ...endpoint, timeout: 900_001 },
    });
    await expectRejected(response, 'endpoint.timeout', 'at most 900000 ms');
  });

  test('rejects an unsupported method', async () => {
    const response = await harness.send('POST', '/workers', {
      queue: 'w',
      endpoint: { ...endpoint, method: 'GET' },
    });
    await expectRejected(response, 'endpoint.method', 'POST, PUT or PATCH');
  });

  test('rejects a malformed function name', async () => {
    const response = await harness.send('POST', '/workers', {
      queue: 'w',
      endpoint: { type: 'lambda', functionName: 'has spaces' },
    });
    await expectRejected(response, 'endpoint.functionName', 'function name');
  });

  test('normalises removeOnComplete true for the BullMQ worker', async () => {
    const response = await harness.send('POST', '/workers', {
      queue: 'normalised',
      endpoint,
      opts: { removeOnComplete: true, removeOnFail: 50 },
    });
    expect(response.status).toBe(200);

    const registry = new WorkerRegistry(harness.redis, harness.prefix);
    const stored = JSON.parse((await registry.getRaw('normalised')) ?? '{}');
    expect(stored.opts.removeOnComplete).toEqual({ count: 0 });
    expect(stored.opts.removeOnFail).toEqual({ count: 50 });

    // A BullMQ Worker accepts the stored options as they are.
    const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const worker = new Worker('normalised', async () => 'ok', {
      connection,
      prefix: harness.prefix,
      autorun: false,
      removeOnComplete: stored.opts.removeOnComplete,
      removeOnFail: stored.opts.removeOnFail,
    });
    await worker.close();
    connection.disconnect();
  });

  test('stores header values but never lists them', async () => {
    await harness.send('POST', '/workers', {
      queue: 'secret-headers',
      endpoint: { ...endpoint, headers: { authorization: 'Bearer s3cr3t' } },
    });
    const listed = await harness.request('/workers', {
      headers: { authorization: 'Bearer test-api-token' },
    });
    const text = await listed.text();
    expect(text).toContain('secret-headers');
    expect(text).not.toContain('s3cr3t');
  });

  test.each([
    ['Host', 'this header is set by the connection and cannot be registered (given: "Host")'],
    ['bad name', 'header names must be HTTP tokens (given: "bad name")'],
    ['', 'header names must be HTTP tokens (given: "")'],
  ])('names the rule for header name %p', async (name, message) => {
    const response = await harness.send('POST', '/workers', {
      queue: 'w',
      endpoint: { ...endpoint, headers: { [name]: 'x' } },
    });
    await expectRejected(response, `endpoint.headers.${name}`, message);
  });

  test.each([
    [{ stalledInterval: 2_147_483_648 }, 'opts.stalledInterval'],
    [{ lockDuration: 9_007_199_254_740_991 }, 'opts.lockDuration'],
    [{ limiter: { max: 1, duration: 2_147_483_648 } }, 'opts.limiter.duration'],
  ])('caps timer option %p at 2^31 - 1 ms', async (opts, path) => {
    const response = await harness.send('POST', '/workers', { queue: 'w', endpoint, opts });
    await expectRejected(response, path, 'must be at most 2147483647 ms');
  });

  test('rejects an Expect header', async () => {
    const response = await harness.send('POST', '/workers', {
      queue: 'w',
      endpoint: { ...endpoint, headers: { Expect: '100-continue' } },
    });
    await expectRejected(response, 'endpoint.headers.Expect', 'cannot be registered');
  });

  test('rejects a header named twice in two cases', async () => {
    const response = await harness.send('POST', '/workers', {
      queue: 'w',
      endpoint: { ...endpoint, headers: { 'X-A': '1', 'x-a': '2' } },
    });
    await expectRejected(response, 'endpoint.headers', 'must not name a header twice');
  });

  test('rejects a header named __proto__', async () => {
    // Sent as text: an object literal would turn the key into a prototype.
    const body =
      '{"queue":"proto-header","endpoint":{"url":"https://worker.example.com/run",' +
      '"headers":{"__proto__":"b"}}}';
    const response = await harness.request('/workers', {
      method: 'POST',
      headers: { authorization: 'Bearer test-api-token', 'content-type': 'application/json' },
      body,
    });

    await expectRejected(response, 'endpoint.headers.__proto__', 'must not be "__proto__"');
    const registry = new WorkerRegistry(harness.redis, harness.prefix);
    expect(await registry.getRaw('proto-header')).toBeUndefined();
  });

  test('rejects headers that are not an object', async () => {
    const response = await harness.send('POST', '/workers', {
      queue: 'w',
      endpoint: { ...endpoint, headers: 'x-api-key: 1' },
    });
    await expectRejected(response, 'endpoint.headers', 'must be an object of header names');
  });

  test('rejects an unknown option', async () => {
    const response = await harness.send('POST', '/workers', {
      queue: 'w',
      endpoint,
      opts: { concurency: 3 },
    });
    expect(response.status).toBe(400);
    const body = await json<ErrorBody>(response);
    expect(body.error.issues[0]?.message).toContain('concurency');
  });
});

describe('list queries', () => {
  test.each([
    ['statuses=running', 'query.statuses'],
    ['start=-1', 'query.start'],
    ['length=0', 'query.length'],
    ['length=101', 'query.length'],
    ['length=abc', 'query.length'],
    ['colour=blue', 'query'],
  ])('rejects %s', async (query, path) => {
    const response = await harness.request(`/queues/q/jobs?${query}`, {
      headers: { authorization: 'Bearer test-api-token' },
    });
    expect(response.status).toBe(400);
    const body = await json<ErrorBody>(response);
    expect(body.error.issues.map((issue) => issue.path)).toContain(path);
  });

  test('accepts every BullMQ state', async () => {
    const statuses = 'waiting,active,delayed,prioritized,completed,failed,paused,waiting-children';
    const response = await harness.request(`/queues/q/jobs?statuses=${statuses}`, {
      headers: { authorization: 'Bearer test-api-token' },
    });
    expect(response.status).toBe(200);
  });
});

describe('body charset', () => {
  const postJobs = (charset: string) =>
    harness.request('/queues/charsets/jobs', {
      method: 'POST',
      headers: {
        authorization: 'Bearer test-api-token',
        'content-type': `application/json; charset=${charset}`,
      },
      body: '[{"name":"a"}]',
    });

  test.each(['utf-16', 'latin1', '"ISO-8859-1"'])(
    'rejects charset=%s with 415',
    async (charset) => {
      const response = await postJobs(charset);

      expect(response.status).toBe(415);
      const body = await json<ErrorBody>(response);
      expect(body.error.code).toBe('unsupported_media_type');
      expect(body.error.message).toContain(
        `Unsupported charset "${charset.replaceAll('"', '').toLowerCase()}"`,
      );
    },
  );

  test.each(['utf-8', 'UTF8', 'us-ascii'])('accepts charset=%s', async (charset) => {
    const response = await postJobs(charset);

    expect(response.status).toBe(200);
  });
});
