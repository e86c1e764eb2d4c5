// Every HTTP response the dispatcher maps, end to end: registered and queued through the API,
// dispatched from real Redis to a loopback endpoint, and read back through the API.
import net from 'node:net';
import { uniqueQueue } from '../support/redis';
import {
  startStack,
  type EndpointHandler,
  type EndpointServer,
  type Stack,
  type StackJob,
} from '../support/stack';

interface JobRun {
  readonly job: StackJob;
  readonly endpoint: EndpointServer;
}

describe('dispatcher HTTP outcomes', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ label: 'e2e-http', dispatcherEnv: { THROTTLE_DELAY_MS: '300' } });
  });

  afterAll(async () => {
    await stack.close();
  });

  /** Registers a fresh queue on an endpoint with `handler`, adds one job and waits for it to finish. */
  async function runJob(
    handler: EndpointHandler,
    jobOpts: Record<string, unknown> = {},
    endpointOptions: Record<string, unknown> = {},
  ): Promise<JobRun> {
    const endpoint = await stack.startEndpoint(handler);
    const queue = uniqueQueue('http');
    await stack.registerWorker({
      queue,
      endpoint: { url: `${endpoint.url}/run`, ...endpointOptions },
    });
    const [added] = await stack.addJobs(queue, [
      { name: 'job', data: { value: 1 }, opts: jobOpts },
    ]);
    const job = await stack.waitForFinishedJob(queue, added!.id, 15_000);
    return { job, endpoint };
  }

  test('completes with the JSON body of a 2xx', async () => {
    const { job, endpoint } = await runJob((_call, response) => {
      response.writeHead(201, { 'content-type': 'application/json' }).end('{"width":320}');
    });

    expect(job.state).toBe('completed');
    expect(job.returnvalue).toEqual({ width: 320 });
    expect(endpoint.calls).toHaveLength(1);
  });

  test('completes with the text body of a 2xx', async () => {
    const { job } = await runJob((_call, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('resized');
    });

    expect(job.state).toBe('completed');
    expect(job.returnvalue).toBe('resized');
  });

  test('completes with null for an empty 2xx', async () => {
    const { job } = await runJob((_call, response) => response.writeHead(204).end());

    expect(job.state).toBe('completed');
    expect(job.returnvalue).toBeNull();
  });

  test('sends the job, token and callback URL', async () => {
    const { job, endpoint } = await runJob((_call, response) => response.writeHead(200).end());

    const call = endpoint.calls[0]!;
    expect(call.body.job.id).toBe(job.id);
    expect(call.body.job.data).toEqual({ value: 1 });
    expect(typeof call.body.token).toBe('string');
    expect(call.body.token).not.toBe('');
    expect(call.body.callbackUrl).toBe(stack.apiUrl);
    expect(call.headers['idempotency-key']).toBe(`${call.body.queue}:${job.id}`);
    expect(call.headers['bullpen-attempt']).toBe('1');
  });

  test('fails a 3xx naming status and Location', async () => {
    const { job, endpoint } = await runJob(
      (call, response) => {
        if (call.path === '/run') response.writeHead(301, { location: '/moved' }).end();
        else response.writeHead(200).end('followed');
      },
      { attempts: 1 },
    );

    expect(job.state).toBe('failed');
    expect(job.failedReason).toBe(
      'HTTP 301 Moved Permanently: redirects are not followed (Location: /moved)',
    );
    expect(endpoint.calls.map((call) => call.path)).toEqual(['/run']);
  });

  test('retries a 429 without using an attempt', async () => {
    let calls = 0;
    const { job, endpoint } = await runJob(
      (_call, response) => {
        calls += 1;
        if (calls <= 2) response.writeHead(429, { 'retry-after': '1' }).end();
        else response.writeHead(200).end('"done"');
      },
      { attempts: 1 },
    );

    expect(job.state).toBe('completed');
    expect(job.returnvalue).toBe('done');
    expect(job.attemptsMade).toBe(1);
    expect(endpoint.calls).toHaveLength(3);
    const gapMs = endpoint.calls[1]!.receivedAtMs - endpoint.calls[0]!.receivedAtMs;
    expect(gapMs).toBeGreaterThanOrEqual(900);
  });

  test('retries a bare 429 after the default delay', async () => {
    let calls = 0;
    const { job, endpoint } = await runJob(
      (_call, response) => {
        calls += 1;
        if (calls === 1) response.writeHead(429).end();
        else response.writeHead(200).end();
      },
      { attempts: 1 },
    );

    expect(job.state).toBe('completed');
    const gapMs = endpoint.calls[1]!.receivedAtMs - endpoint.calls[0]!.receivedAtMs;
    expect(gapMs).toBeGreaterThanOrEqual(250);
  });

  test('retries a 503 with Retry-After for free', async () => {
    let calls = 0;
    const { job, endpoint } = await runJob(
      (_call, response) => {
        calls += 1;
        if (calls === 1) response.writeHead(503, { 'retry-after': '1' }).end();
        else response.writeHead(200).end();
      },
      { attempts: 1 },
    );

    expect(job.state).toBe('completed');
    expect(job.attemptsMade).toBe(1);
    expect(endpoint.calls).toHaveLength(2);
  });

  test('fails a 500 with the body start', async () => {
    const body = `${'e'.repeat(1020)}TAIL-NOT-SHOWN`;
    const { job } = await runJob((_call, response) => response.writeHead(500).end(body), {
      attempts: 1,
    });

    expect(job.state).toBe('failed');
    expect(job.failedReason).toBe(`HTTP 500 Internal Server Error: ${body.slice(0, 1024)}...`);
  });

  test('fails a 503 without Retry-After as an attempt', async () => {
    const { job, endpoint } = await runJob(
      (_call, response) => response.writeHead(503).end('down'),
      { attempts: 2 },
    );

    expect(job.state).toBe('failed');
    expect(job.failedReason).toBe('HTTP 503 Service Unavailable: down');
    expect(endpoint.calls).toHaveLength(2);
  });

  test('fails at once when marked unrecoverable', async () => {
    const { job, endpoint } = await runJob(
      (_call, response) => {
        response.writeHead(400, { 'bullpen-unrecoverable': 'true' }).end('unknown format');
      },
      { attempts: 5 },
    );

    expect(job.state).toBe('failed');
    expect(job.failedReason).toBe(
      'HTTP 400 Bad Request, marked unrecoverable by the endpoint: unknown format',
    );
    expect(endpoint.calls).toHaveLength(1);
  });

  test('fails an attempt that times out', async () => {
    const { job, endpoint } = await runJob(() => undefined, { attempts: 1 }, { timeout: 300 });

    expect(job.state).toBe('failed');
    expect(job.failedReason).toBe(`The call to ${endpoint.url} timed out after 300 ms`);
  });

  test('fails an attempt whose connection is refused', async () => {
    const port = await freePort();
    const queue = uniqueQueue('refused');
    await stack.registerWorker({ queue, endpoint: { url: `http://127.0.0.1:${port}/run` } });
    const [added] = await stack.addJobs(queue, [
      { name: 'job', data: null, opts: { attempts: 1 } },
    ]);

    const job = await stack.waitForFinishedJob(queue, added!.id);

    expect(job.state).toBe('failed');
    expect(job.failedReason).toBe(`Connection refused by http://127.0.0.1:${port}`);
  });

  test('fails an attempt whose connection is reset', async () => {
    const { job } = await runJob((_call, _response, request) => request.socket.destroy(), {
      attempts: 1,
    });

    expect(job.state).toBe('failed');
    expect(job.failedReason).toMatch(/^The connection to http:\/\/127\.0\.0\.1:\d+ was reset/);
  });

  test('fails an attempt whose body is truncated', async () => {
    const { job } = await runJob(
      (_call, response, request) => {
        response.writeHead(200, { 'content-length': '500' });
        response.write('{"partial":');
        setTimeout(() => request.socket.destroy(), 20);
      },
      { attempts: 1 },
    );

    expect(job.state).toBe('failed');
    expect(job.failedReason).toMatch(
      /^The response body from http:\/\/127\.0\.0\.1:\d+ was truncated: /,
    );
  });

  test('fails at once when the response is over the cap', async () => {
    const { job, endpoint } = await runJob(
      (_call, response) => response.writeHead(200).end('z'.repeat(5_000)),
      { attempts: 3 },
      { maxResponseBytes: 1_000 },
    );

    expect(job.state).toBe('failed');
    expect(job.failedReason).toContain('larger than maxResponseBytes (1000 bytes)');
    expect(endpoint.calls).toHaveLength(1);
  });
});

describe('dispatcher attempts and backoff', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      label: 'e2e-attempts',
      dispatcherEnv: { THROTTLE_DELAY_MS: '200' },
    });
  });

  afterAll(async () => {
    await stack.close();
  });

  async function runFailingJob(
    jobOpts: Record<string, unknown>,
    handler: EndpointHandler = (_call, response) => response.writeHead(500).end('boom'),
  ): Promise<JobRun> {
    const endpoint = await stack.startEndpoint(handler);
    const queue = uniqueQueue('attempts');
    await stack.registerWorker({ queue, endpoint: { url: endpoint.url } });
    const [added] = await stack.addJobs(queue, [{ name: 'job', data: null, opts: jobOpts }]);
    const job = await stack.waitForFinishedJob(queue, added!.id, 15_000);
    // A retry scheduled by mistake would arrive within this wait.
    await new Promise((resolve) => setTimeout(resolve, 800));
    return { job, endpoint };
  }

  const gapsMs = (endpoint: EndpointServer) =>
    endpoint.calls
      .slice(1)
      .map((call, index) => call.receivedAtMs - endpoint.calls[index]!.receivedAtMs);

  test('calls the endpoint exactly attempts times', async () => {
    const { job, endpoint } = await runFailingJob({ attempts: 3 });

    expect(job.state).toBe('failed');
    expect(job.attemptsMade).toBe(3);
    expect(endpoint.calls).toHaveLength(3);
    expect(endpoint.calls.map((call) => call.headers['bullpen-attempt'])).toEqual(['1', '2', '3']);
  });

  test('spaces retries by a fixed backoff', async () => {
    const { endpoint } = await runFailingJob({
      attempts: 3,
      backoff: { type: 'fixed', delay: 400 },
    });

    expect(endpoint.calls).toHaveLength(3);
    for (const gapMs of gapsMs(endpoint)) expect(gapMs).toBeGreaterThanOrEqual(390);
  });

  test('spaces retries by an exponential backoff', async () => {
    const { endpoint } = await runFailingJob({
      attempts: 3,
      backoff: { type: 'exponential', delay: 200 },
    });

    expect(endpoint.calls).toHaveLength(3);
    const [first, second] = gapsMs(endpoint);
    expect(first).toBeGreaterThanOrEqual(190);
    expect(second).toBeGreaterThanOrEqual(390);
  });

  test('does not count throttled calls as attempts', async () => {
    let calls = 0;
    const { job, endpoint } = await runFailingJob({ attempts: 2 }, (_call, response) => {
      calls += 1;
      if (calls % 2 === 1) response.writeHead(429).end();
      else response.writeHead(500).end('boom');
    });

    expect(job.state).toBe('failed');
    expect(job.attemptsMade).toBe(2);
    expect(endpoint.calls).toHaveLength(4);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
