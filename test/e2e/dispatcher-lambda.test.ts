// Every Lambda response the dispatcher maps, end to end: registered and queued through the API,
// invoked through @aws-sdk/client-lambda on the local Lambda host, read back through the API.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { uniqueQueue } from '../support/redis';
import { REPO_ROOT, startStack, type Stack, type StackJob } from '../support/stack';

const FIXTURES = path.join(REPO_ROOT, 'services/dispatcher/test/fixtures');
const HANDLERS = path.join(FIXTURES, 'lambda-handlers.ts');
const SDK_HANDLERS = path.join(FIXTURES, 'sdk-handlers.ts');

describe('dispatcher Lambda outcomes', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      label: 'e2e-lambda',
      functions: [
        { name: 'echo', handlerModule: HANDLERS, handlerExport: 'echo', aliases: ['live'] },
        { name: 'plain-text', handlerModule: HANDLERS, handlerExport: 'plainText' },
        {
          name: 'report-and-double',
          handlerModule: SDK_HANDLERS,
          handlerExport: 'reportAndDouble',
        },
        { name: 'reject-forever', handlerModule: SDK_HANDLERS, handlerExport: 'rejectForever' },
        { name: 'fail-once', handlerModule: SDK_HANDLERS, handlerExport: 'failOnce' },
        { name: 'short-timeout', handlerModule: HANDLERS, handlerExport: 'slow', timeoutMs: 300 },
        {
          name: 'single',
          handlerModule: HANDLERS,
          handlerExport: 'slow',
          reservedConcurrency: 1,
        },
        { name: 'large', handlerModule: HANDLERS, handlerExport: 'large' },
        {
          name: 'url-echo',
          handlerModule: SDK_HANDLERS,
          handlerExport: 'reportAndDouble',
          functionUrl: true,
        },
      ],
    });
  });

  afterAll(async () => {
    await stack.close();
  });

  /** Registers a fresh queue on `endpoint`, adds the jobs and waits for each to finish. */
  async function runJobs(
    endpoint: Record<string, unknown>,
    jobs: Array<{ data?: unknown; opts?: Record<string, unknown> }>,
    opts: Record<string, unknown> = {},
  ): Promise<StackJob[]> {
    const queue = uniqueQueue('lambda');
    await stack.registerWorker({ queue, endpoint, opts });
    const added = await stack.addJobs(
      queue,
      jobs.map((job) => ({ name: 'job', data: job.data ?? null, opts: job.opts ?? {} })),
    );
    return Promise.all(added.map((job) => stack.waitForFinishedJob(queue, job.id, 20_000)));
  }

  test('completes with the decoded JSON payload', async () => {
    const [job] = await runJobs({ type: 'lambda', functionName: 'echo', qualifier: 'live' }, [{}]);

    expect(job!.state).toBe('completed');
    expect(job!.returnvalue).toMatchObject({ jobId: job!.id, callbackUrl: stack.apiUrl });
    expect(typeof (job!.returnvalue as { token: string }).token).toBe('string');
  });

  test('completes with a text payload', async () => {
    const [job] = await runJobs({ type: 'lambda', functionName: 'plain-text' }, [{}]);

    expect(job!.state).toBe('completed');
    expect(job!.returnvalue).toBe('thumbnail ready');
  });

  test('accepts progress and logs with the job token', async () => {
    const queue = uniqueQueue('callbacks');
    await stack.registerWorker({
      queue,
      endpoint: { type: 'lambda', functionName: 'report-and-double' },
    });
    const [added] = await stack.addJobs(queue, [{ name: 'job', data: { value: 21 } }]);

    const job = await stack.waitForFinishedJob(queue, added!.id, 20_000);
    const logs = await stack.api<{ logs: string[] }>(
      'GET',
      `/queues/${queue}/jobs/${added!.id}/logs`,
    );

    expect(job.state).toBe('completed');
    expect(job.returnvalue).toEqual({ doubled: 42 });
    expect(job.progress).toBe(50);
    expect(logs.body.logs).toEqual(['doubling 21']);
  });

  test('fails an attempt on a function error', async () => {
    const [job] = await runJobs({ type: 'lambda', functionName: 'fail-once' }, [
      { opts: { attempts: 2 } },
    ]);

    expect(job!.state).toBe('failed');
    expect(job!.failedReason).toBe('RangeError: width must be positive');
    expect(job!.attemptsMade).toBe(2);
  });

  test('fails an attempt when the function times out', async () => {
    const [job] = await runJobs({ type: 'lambda', functionName: 'short-timeout' }, [
      { data: { sleepMs: 2_000 }, opts: { attempts: 1 } },
    ]);

    expect(job!.state).toBe('failed');
    expect(job!.failedReason).toMatch(/^Sandbox\.Timedout: .*Task timed out after 0\.30 seconds/);
  });

  test('fails at once on UnrecoverableError from the SDK', async () => {
    const before = stack.lambdaHost!.invocationCount('reject-forever');

    const [job] = await runJobs({ type: 'lambda', functionName: 'reject-forever' }, [
      { opts: { attempts: 4 } },
    ]);

    expect(job!.state).toBe('failed');
    expect(job!.failedReason).toBe('UnrecoverableError: the image format is not supported');
    expect(stack.lambdaHost!.invocationCount('reject-forever') - before).toBe(1);
  });

  test('retries throttled invokes without using attempts', async () => {
    const queue = uniqueQueue('throttled');
    await stack.registerWorker({
      queue,
      endpoint: { type: 'lambda', functionName: 'single' },
      opts: { concurrency: 3 },
    });
    const added = await stack.addJobs(
      queue,
      Array.from({ length: 3 }, () => ({
        name: 'job',
        data: { sleepMs: 300 },
        opts: { attempts: 1 },
      })),
    );

    const jobs = await Promise.all(
      added.map((job) => stack.waitForFinishedJob(queue, job.id, 20_000)),
    );
    const metrics = await (await fetch(`${stack.dispatchers[0]!.metricsUrl}/metrics`)).text();
    const throttles = new RegExp(
      `bullpen_dispatcher_throttles_total\\{queue="${queue}"\\} (\\d+)`,
    ).exec(metrics);

    expect(jobs.map((job) => job.state)).toEqual(['completed', 'completed', 'completed']);
    expect(jobs.map((job) => job.attemptsMade)).toEqual([1, 1, 1]);
    expect(Number(throttles?.[1])).toBeGreaterThan(0);
  });

  test('fails at once when the function does not exist', async () => {
    const [job] = await runJobs({ type: 'lambda', functionName: 'no-such-function' }, [
      { opts: { attempts: 3 } },
    ]);

    expect(job!.state).toBe('failed');
    expect(job!.failedReason).toMatch(
      /^ResourceNotFoundException: function no-such-function does not exist/,
    );
    expect(job!.attemptsMade).toBe(1);
  });

  test('fails at once on an invalid request', async () => {
    const [job] = await runJobs(
      { type: 'lambda', functionName: 'echo:live', qualifier: '1', timeout: 5_000 },
      [{ opts: { attempts: 3 } }],
    );

    expect(job!.state).toBe('failed');
    expect(job!.failedReason).toMatch(/^InvalidParameterValueException from function echo:live:1/);
    expect(job!.attemptsMade).toBe(1);
  });

  test('fails at once on a payload over the limit', async () => {
    const [job] = await runJobs({ type: 'lambda', functionName: 'echo' }, [
      { data: 'p'.repeat(6_300_000), opts: { attempts: 3 } },
    ]);

    expect(job!.state).toBe('failed');
    expect(job!.failedReason).toMatch(/^RequestTooLargeException from function echo/);
    expect(job!.attemptsMade).toBe(1);
  });

  test('fails at once on a response over the cap', async () => {
    const [job] = await runJobs(
      { type: 'lambda', functionName: 'large', maxResponseBytes: 2_000 },
      [{ data: { bytes: 10_000 }, opts: { attempts: 3 } }],
    );

    expect(job!.state).toBe('failed');
    expect(job!.failedReason).toContain('more than maxResponseBytes (2000 bytes)');
    expect(job!.attemptsMade).toBe(1);
  });

  test('fails an attempt when the client timeout passes', async () => {
    const [job] = await runJobs({ type: 'lambda', functionName: 'single', timeout: 200 }, [
      { data: { sleepMs: 1_000 }, opts: { attempts: 1 } },
    ]);

    expect(job!.state).toBe('failed');
    expect(job!.failedReason).toBe('The Invoke of function single timed out after 200 ms');
  });

  test('calls a Function URL with SigV4', async () => {
    const [job] = await runJobs(
      { url: stack.lambdaHost!.functionUrl('url-echo'), auth: { type: 'aws-iam' } },
      [{ data: { value: 4 } }],
    );

    expect(job!.state).toBe('completed');
    expect(job!.returnvalue).toEqual({ doubled: 8 });
  });
});

describe('dispatcher Lambda access denied', () => {
  let stack: Stack;
  let lambdaApi: http.Server;

  beforeAll(async () => {
    // The local Lambda host has no IAM, so this loopback server stands in for the Lambda
    // REST API and denies every call the way Lambda does.
    lambdaApi = http.createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        response
          .writeHead(403, {
            'content-type': 'application/json',
            'x-amzn-errortype': 'AccessDeniedException',
          })
          .end('{"Message":"not authorized to perform lambda:InvokeFunction"}');
      });
    });
    await new Promise<void>((resolve) => lambdaApi.listen(0, '127.0.0.1', resolve));
    const lambdaUrl = `http://127.0.0.1:${(lambdaApi.address() as AddressInfo).port}`;
    stack = await startStack({
      label: 'e2e-lambda-denied',
      dispatcherEnv: { AWS_ENDPOINT_URL_LAMBDA: lambdaUrl },
    });
  });

  afterAll(async () => {
    await stack.close();
    await new Promise<void>((resolve) => {
      lambdaApi.close(() => resolve());
      lambdaApi.closeAllConnections();
    });
  });

  test('fails at once when access is denied', async () => {
    const queue = uniqueQueue('denied');
    await stack.registerWorker({
      queue,
      endpoint: { type: 'lambda', functionName: 'thumbnails', timeout: 5_000 },
    });
    const [added] = await stack.addJobs(queue, [
      { name: 'job', data: null, opts: { attempts: 3 } },
    ]);

    const job = await stack.waitForFinishedJob(queue, added!.id);

    expect(job.state).toBe('failed');
    expect(job.failedReason).toBe(
      'AccessDeniedException from function thumbnails: not authorized to perform lambda:InvokeFunction',
    );
    expect(job.attemptsMade).toBe(1);
  });
});
