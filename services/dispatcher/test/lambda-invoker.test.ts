import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  lambdaEndpointSchema,
  silentLogger,
  type LambdaEndpoint,
  type Logger,
} from '@bullpen/core';
import { sampleDispatchRequest } from './support/dispatch-request';
import { startEndpointServer, waitFor } from './support/endpoint-server';
import { memoryLogger } from './support/test-dispatcher';
import { startLambdaHost, type LambdaHost } from '@bullpen/lambda-host';
import { InFlightCalls, systemClock } from '../src/invokers/call-context';
import {
  CallOptionsHttpHandler,
  addCallOptionsMiddleware,
} from '../src/invokers/lambda-call-options';
import {
  LambdaInvoker,
  createLambdaClient,
  type LambdaClientFactory,
} from '../src/invokers/lambda-invoker';
import { LambdaClient, type InvocationResponse } from '@aws-sdk/client-lambda';

const FAKE_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const HANDLERS = path.join(__dirname, 'fixtures', 'lambda-handlers.ts');
const INVOKE_ONCE = path.join(__dirname, 'fixtures', 'invoke-once.ts');
const execFileAsync = promisify(execFile);
const THROTTLE_DELAY_MS = 1234;

const dispatchRequest = sampleDispatchRequest;

const context = () => ({ attempt: 1 });

function lambda(functionName: string, overrides: Record<string, unknown> = {}): LambdaEndpoint {
  return lambdaEndpointSchema.parse({ type: 'lambda', functionName, ...overrides });
}

describe('LambdaInvoker', () => {
  let host: LambdaHost;
  let invoker: LambdaInvoker;
  const factoryRegions: string[] = [];

  beforeAll(async () => {
    host = await startLambdaHost({
      functions: [
        { name: 'echo', handlerModule: HANDLERS, handlerExport: 'echo', aliases: ['live'] },
        { name: 'plain-text', handlerModule: HANDLERS, handlerExport: 'plainText' },
        { name: 'nothing', handlerModule: HANDLERS, handlerExport: 'nothing' },
        { name: 'fail', handlerModule: HANDLERS, handlerExport: 'fail' },
        { name: 'fail-unrecoverable', handlerModule: HANDLERS, handlerExport: 'failUnrecoverable' },
        { name: 'slow', handlerModule: HANDLERS, handlerExport: 'slow', timeoutMs: 5_000 },
        { name: 'short-timeout', handlerModule: HANDLERS, handlerExport: 'slow', timeoutMs: 300 },
        {
          name: 'single',
          handlerModule: HANDLERS,
          handlerExport: 'slow',
          reservedConcurrency: 1,
        },
        { name: 'large', handlerModule: HANDLERS, handlerExport: 'large' },
      ],
    });
  });

  afterAll(async () => {
    await host.close();
  });

  beforeEach(() => {
    factoryRegions.length = 0;
    invoker = new LambdaInvoker({
      clientFactory: (region) => {
        factoryRegions.push(region);
        return createLambdaClient({ region, endpoint: host.url, credentials: FAKE_CREDENTIALS });
      },
      inFlight: new InFlightCalls(),
      defaultRegion: 'us-east-1',
      clock: systemClock,
      throttleDelayMs: THROTTLE_DELAY_MS,
      logger: silentLogger(),
    });
  });

  afterEach(() => {
    invoker.close();
  });

  /** Calls `slow` for 1.5 s with a 300 ms timeout through a client from `clientFactory`. */
  async function callSlowThrough(clientFactory: LambdaClientFactory) {
    const through = invokerWith(clientFactory);
    try {
      return await through.call(
        lambda('slow', { timeout: 300 }),
        dispatchRequest({ sleepMs: 1_500 }),
        context(),
      );
    } finally {
      through.close();
    }
  }

  test('completes with the decoded JSON payload', async () => {
    const outcome = await invoker.call(lambda('echo'), dispatchRequest(), context());

    expect(outcome).toEqual({
      kind: 'completed',
      returnValue: {
        jobId: '7',
        token: 'lock-token-7',
        queue: 'thumbnails',
        callbackUrl: 'http://127.0.0.1:9/',
      },
    });
  });

  test('invokes the registered qualifier', async () => {
    const outcome = await invoker.call(
      lambda('echo', { qualifier: 'live' }),
      dispatchRequest(),
      context(),
    );

    expect(outcome.kind).toBe('completed');
  });

  test('completes with text and null payloads', async () => {
    const text = await invoker.call(lambda('plain-text'), dispatchRequest(), context());
    const empty = await invoker.call(lambda('nothing'), dispatchRequest(), context());

    expect(text).toEqual({ kind: 'completed', returnValue: 'thumbnail ready' });
    expect(empty).toEqual({ kind: 'completed', returnValue: null });
  });

  test('fails an attempt on a function error', async () => {
    const outcome = await invoker.call(lambda('fail'), dispatchRequest(), context());

    expect(outcome).toEqual({ kind: 'failed', reason: 'TypeError', detail: 'image is not a PNG' });
  });

  test('fails an attempt when the function times out', async () => {
    const outcome = await invoker.call(
      lambda('short-timeout'),
      dispatchRequest({ sleepMs: 2_000 }),
      context(),
    );

    expect(outcome).toMatchObject({ kind: 'failed', reason: 'Sandbox.Timedout' });
    expect((outcome as { detail: string }).detail).toContain('Task timed out after 0.30 seconds');
  });

  test('fails without retries on an UnrecoverableError', async () => {
    const outcome = await invoker.call(lambda('fail-unrecoverable'), dispatchRequest(), context());

    expect(outcome).toEqual({
      kind: 'unrecoverable',
      reason: 'UnrecoverableError',
      detail: 'the input can never be processed',
    });
  });

  test('throttles on TooManyRequestsException', async () => {
    const first = invoker.call(lambda('single'), dispatchRequest({ sleepMs: 1_000 }), context());
    await new Promise((resolve) => setTimeout(resolve, 300));

    const second = await invoker.call(
      lambda('single'),
      dispatchRequest({ sleepMs: 10 }),
      context(),
    );

    expect(second.kind).toBe('throttled');
    expect((second as { reason: string }).reason).toContain('TooManyRequestsException');
    expect((second as { retryAfterMs: number }).retryAfterMs).toBe(1_000);
    expect((await first).kind).toBe('completed');
  });

  test('fails without retries when the function does not exist', async () => {
    const outcome = await invoker.call(lambda('missing-function'), dispatchRequest(), context());

    expect(outcome.kind).toBe('unrecoverable');
    expect((outcome as { reason: string }).reason).toContain(
      'ResourceNotFoundException: function missing-function does not exist',
    );
  });

  test('fails without retries when the qualifier does not exist', async () => {
    const outcome = await invoker.call(
      lambda('echo', { qualifier: 'nonexistent', timeout: 5_000 }),
      dispatchRequest(),
      context(),
    );

    expect(outcome.kind).toBe('unrecoverable');
    expect((outcome as { reason: string }).reason).toContain('ResourceNotFoundException');
  });

  test('fails without retries over the invoke limit', async () => {
    const outcome = await invoker.call(
      lambda('echo'),
      dispatchRequest('x'.repeat(7 * 1024 * 1024)),
      context(),
    );

    expect(outcome.kind).toBe('unrecoverable');
    expect((outcome as { reason: string }).reason).toMatch(
      /^RequestTooLargeException from function echo/,
    );
  });

  test('fails without retries over the response cap', async () => {
    const outcome = await invoker.call(
      lambda('large', { maxResponseBytes: 100 }),
      dispatchRequest({ bytes: 1_000 }),
      context(),
    );

    expect(outcome.kind).toBe('unrecoverable');
    expect((outcome as { reason: string }).reason).toContain(
      'more than maxResponseBytes (100 bytes)',
    );
  });

  test('times out on the client without a second invoke', async () => {
    const before = host.invocationCount('slow');

    const outcome = await invoker.call(
      lambda('slow', { timeout: 300 }),
      dispatchRequest({ sleepMs: 1_500 }),
      context(),
    );

    expect(outcome).toEqual({
      kind: 'failed',
      reason: 'The Invoke of function slow timed out after 300 ms',
    });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(host.invocationCount('slow') - before).toBe(1);
  });

  test('keeps concurrent call timeouts apart', async () => {
    // Both calls share one client and its cached middleware.
    const [timedOut, completed] = await Promise.all([
      invoker.call(
        lambda('slow', { timeout: 300 }),
        dispatchRequest({ sleepMs: 1_500 }),
        context(),
      ),
      invoker.call(
        lambda('slow', { timeout: 4_000 }),
        dispatchRequest({ sleepMs: 800 }),
        context(),
      ),
    ]);

    expect(timedOut).toEqual({
      kind: 'failed',
      reason: 'The Invoke of function slow timed out after 300 ms',
    });
    expect(completed.kind).toBe('completed');
    expect(factoryRegions).toEqual(['us-east-1']);
  });

  test('times out through a plain client', async () => {
    const outcome = await callSlowThrough(
      (region) =>
        new LambdaClient({
          region,
          endpoint: host.url,
          credentials: FAKE_CREDENTIALS,
          maxAttempts: 1,
        }),
    );

    expect(outcome).toEqual({
      kind: 'failed',
      reason: 'The Invoke of function slow timed out after 300 ms',
    });
  });

  test.each([
    {
      missing: 'the call options middleware',
      client: (region: string) =>
        new LambdaClient({
          region,
          endpoint: host.url,
          credentials: FAKE_CREDENTIALS,
          maxAttempts: 1,
          cacheMiddleware: true,
          requestHandler: new CallOptionsHttpHandler({}),
        }),
    },
    {
      missing: 'the call options handler',
      client: (region: string) => {
        const client = new LambdaClient({
          region,
          endpoint: host.url,
          credentials: FAKE_CREDENTIALS,
          maxAttempts: 1,
          cacheMiddleware: true,
        });
        addCallOptionsMiddleware(client);
        return client;
      },
    },
  ])('times out through a caching client without $missing', async ({ client }) => {
    // Such a client drops call options filed under the input, so it must get send options.
    const outcome = await callSlowThrough(client);

    expect(outcome).toEqual({
      kind: 'failed',
      reason: 'The Invoke of function slow timed out after 300 ms',
    });
  });

  test('fails a call whose request lost its deadline', async () => {
    const outcome = await callSlowThrough((region) => {
      const client = createLambdaClient({
        region,
        endpoint: host.url,
        credentials: FAKE_CREDENTIALS,
      });
      // Runs after the call options middleware and sends a copy of the request.
      client.middlewareStack.add(
        (next) => (args) =>
          next({
            ...args,
            request: Object.assign(
              Object.create(Object.getPrototypeOf(args.request) as object) as object,
              args.request,
            ),
          }),
        { step: 'deserialize', priority: 'low', name: 'copyRequest' },
      );
      return client;
    });

    expect(outcome.kind).toBe('failed');
    expect((outcome as { reason: string }).reason).toContain(
      'reached the request handler without its deadline',
    );
  });

  test('leaves send options off its own clients', async () => {
    // A send with options bypasses the client's cached middleware.
    const sends: jest.SpyInstance[] = [];
    const spying = invokerWith((region) => {
      const client = createLambdaClient({
        region,
        endpoint: host.url,
        credentials: FAKE_CREDENTIALS,
      });
      sends.push(jest.spyOn(client, 'send'));
      return client;
    });
    try {
      // Without a registered timeout, the call reads the configuration first.
      const outcome = await spying.call(lambda('echo'), dispatchRequest(), context());

      expect(outcome.kind).toBe('completed');
      expect(sends).toHaveLength(1);
      const commands = sends[0]!.mock.calls.map(([command]) => command.constructor.name);
      expect(commands).toEqual(['GetFunctionConfigurationCommand', 'InvokeCommand']);
      expect(sends[0]!.mock.calls.map((args) => args[1])).toEqual([undefined, undefined]);
    } finally {
      spying.close();
    }
  });

  test('gives concurrent calls their own outcomes', async () => {
    // `quick` returns its job data at once and `hang` never responds. The configuration of
    // `configured` gives a 3 s timeout, and reading that of `config-hang` never ends.
    const lambdaApi = await startEndpointServer((call, response) => {
      const functionName = /\/functions\/([^/]+)\//.exec(call.path)?.[1];
      if (functionName === 'hang') return;
      if (call.method === 'GET') {
        if (functionName === 'config-hang') return;
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ FunctionName: functionName, Timeout: 3 }));
        return;
      }
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(call.body.job.data));
    });
    const inFlight = new InFlightCalls();
    const shared = invokerWith(clientsFor(lambdaApi.url), { inFlight });
    const startCall = async (functionName: string, id: number, timeout?: number) => {
      const startedAtMs = Date.now();
      const endpoint = lambda(functionName, timeout === undefined ? {} : { timeout });
      const outcome = await shared.call(endpoint, dispatchRequest({ id }), context());
      return { outcome, elapsedMs: Date.now() - startedAtMs };
    };
    const timeoutsMs = idRange(0, 8).map((i) => 200 + 25 * i);
    try {
      const completing = idRange(0, 8).map((id) => startCall('quick', id, 10_000));
      const configured = idRange(100, 4).map((id) => startCall('configured', id));
      const timingOut = timeoutsMs.map((timeout, i) => startCall('hang', 200 + i, timeout));
      const abandonedInvokes = idRange(300, 8).map((id) => startCall('hang', id, 60_000));
      const abandonedReads = idRange(400, 4).map((id) => startCall('config-hang', id));

      const completed = await settlesWithin(Promise.all(completing), 3_000, 'quick calls');
      const configuredOutcomes = await settlesWithin(
        Promise.all(configured),
        3_000,
        'calls that read a configuration',
      );
      const timedOut = await settlesWithin(Promise.all(timingOut), 3_000, 'timing-out calls');
      // The 8 long Invokes and the 4 configuration reads of config-hang still wait.
      await waitFor(() => lambdaApi.inFlight === 12, 3_000, '12 requests in flight');
      inFlight.abandonAll();
      const abandoned = await settlesWithin(Promise.all(abandonedInvokes), 3_000, 'long calls');
      const abandonedBeforeStart = await settlesWithin(
        Promise.all(abandonedReads),
        3_000,
        'calls whose configuration read hangs',
      );

      expect(completed.map(({ outcome }) => outcome)).toEqual(
        idRange(0, 8).map((id) => ({ kind: 'completed', returnValue: { id } })),
      );
      expect(configuredOutcomes.map(({ outcome }) => outcome)).toEqual(
        idRange(100, 4).map((id) => ({ kind: 'completed', returnValue: { id } })),
      );
      expect(timedOut.map(({ outcome }) => outcome)).toEqual(
        timeoutsMs.map((timeout) => ({
          kind: 'failed',
          reason: `The Invoke of function hang timed out after ${timeout} ms`,
        })),
      );
      // A call that got another call's shorter request timeout would end before its own.
      const endedEarly = timedOut.filter(({ elapsedMs }, i) => elapsedMs < timeoutsMs[i]! - 5);
      expect(endedEarly).toEqual([]);
      expect(abandoned.map(({ outcome }) => outcome)).toEqual(
        idRange(300, 8).map(() => ({
          kind: 'abandoned',
          reason: 'the dispatcher shut down before the call finished',
        })),
      );
      expect(abandonedBeforeStart.map(({ outcome }) => outcome)).toEqual(
        idRange(400, 4).map(() => ({
          kind: 'abandoned',
          reason: 'the dispatcher shut down before the call started',
        })),
      );
      await waitFor(() => lambdaApi.inFlight === 0, 3_000, 'every request closed');
    } finally {
      shared.close();
      await lambdaApi.close();
    }
  }, 20_000);

  test('keeps request headers steady across calls', async () => {
    // The cached middleware shares one handler context between calls, which must not carry
    // anything from one request into the next.
    const lambdaApi = await startEndpointServer((call, response) => {
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(call.body.job.data));
    });
    const reused = invokerWith(clientsFor(lambdaApi.url));
    try {
      const outcomes = [];
      for (let round = 0; round < 3; round += 1) {
        outcomes.push(
          ...(await Promise.all(
            idRange(round * 10, 10).map((id) =>
              reused.call(lambda('echo', { timeout: 5_000 }), dispatchRequest({ id }), context()),
            ),
          )),
        );
      }

      const ids = idRange(0, 30);
      expect(outcomes).toEqual(ids.map((id) => ({ kind: 'completed', returnValue: { id } })));
      const { calls } = lambdaApi;
      expect(calls).toHaveLength(30);
      const first = calls[0]!.headers;
      expect(calls.map((call) => call.headers['user-agent'])).toEqual(
        ids.map(() => first['user-agent']),
      );
      expect(calls.map((call) => call.headers['x-amz-user-agent'])).toEqual(
        ids.map(() => first['x-amz-user-agent']),
      );
      expect(calls.map((call) => call.headers['amz-sdk-request'])).toEqual(
        ids.map(() => 'attempt=1; max=1'),
      );
      expect(new Set(calls.map((call) => call.headers['amz-sdk-invocation-id'])).size).toBe(30);
      expect(calls.map((call) => Number(call.headers['content-length']))).toEqual(
        calls.map((call) => Buffer.byteLength(call.rawBody)),
      );
    } finally {
      reused.close();
      await lambdaApi.close();
    }
  });

  test('times out a stalled response body', async () => {
    // The SDK's own request timeout ends when the headers arrive, so only the call's
    // deadline can stop this read.
    const stalling = await startStallingServer();
    const stalled = invokerWith(clientsFor(stalling.url));
    try {
      const outcome = await stalled.call(
        lambda('echo', { timeout: 300 }),
        dispatchRequest(),
        context(),
      );

      expect(outcome).toEqual({
        kind: 'failed',
        reason: 'The Invoke of function echo timed out after 300 ms',
      });
    } finally {
      stalled.close();
      await stalling.close();
    }
  });

  test('abandons a stalled response body', async () => {
    const stalling = await startStallingServer();
    const inFlight = new InFlightCalls();
    const stalled = invokerWith(clientsFor(stalling.url), { inFlight });
    setTimeout(() => inFlight.abandonAll(), 200);
    try {
      const outcome = await stalled.call(
        lambda('echo', { timeout: 5_000 }),
        dispatchRequest(),
        context(),
      );

      expect(outcome.kind).toBe('abandoned');
    } finally {
      stalled.close();
      await stalling.close();
    }
  });

  test('abandons an in-flight invoke at shutdown', async () => {
    const inFlight = new InFlightCalls();
    const abandoning = invokerWith(clientsFor(host.url), { inFlight });
    setTimeout(() => inFlight.abandonAll(), 100);
    try {
      const outcome = await abandoning.call(
        lambda('slow'),
        dispatchRequest({ sleepMs: 1_000 }),
        context(),
      );

      expect(outcome.kind).toBe('abandoned');
    } finally {
      abandoning.close();
    }
  });

  test('abandons a stalled configuration read', async () => {
    // Responds to GetFunctionConfiguration only after 3 s and reports whether the client
    // closed the connection before that.
    let answered = false;
    let reportConnection: (state: string) => void = () => undefined;
    const connectionEnded = new Promise<string>((resolve) => {
      reportConnection = resolve;
      setTimeout(() => resolve('still open after 4 s'), 4_000).unref();
    });
    const stalling = http.createServer((request, response) => {
      request.socket.once('close', () => reportConnection(answered ? 'answered' : 'dropped'));
      setTimeout(() => {
        answered = true;
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ FunctionName: 'echo', Timeout: 3 }));
      }, 3_000).unref();
    });
    const stallingUrl = await listenOnLoopback(stalling);
    const inFlight = new InFlightCalls();
    const abandoning = invokerWith(clientsFor(stallingUrl), { inFlight });
    setTimeout(() => inFlight.abandonAll(), 200);
    try {
      const outcome = await abandoning.call(lambda('echo'), dispatchRequest(), context());

      expect(outcome).toEqual({
        kind: 'abandoned',
        reason: 'the dispatcher shut down before the call started',
      });
      expect(await connectionEnded).toBe('dropped');
    } finally {
      abandoning.close();
      stalling.closeAllConnections();
      await new Promise((resolve) => stalling.close(resolve));
    }
  });

  test('invokes after a configuration read times out', async () => {
    // Leaves GetFunctionConfiguration requests without a response and responds to every
    // Invoke at once.
    const server = http.createServer((request, response) => {
      if (request.method === 'POST' && request.url?.includes('/invocations')) {
        request.resume();
        request.on('end', () => {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end('{"ok":true}');
        });
      }
    });
    const serverUrl = await listenOnLoopback(server);
    const { logger, lines } = memoryLogger();
    const invoking = invokerWith(clientsFor(serverUrl), {
      logger,
      configurationTimeoutMs: 300,
    });
    try {
      const outcome = await invoking.call(lambda('echo'), dispatchRequest(), context());

      expect(outcome).toEqual({ kind: 'completed', returnValue: { ok: true } });
      const warning = lines.find((line) =>
        line.msg.startsWith('reading the function timeout failed'),
      );
      expect(warning).toBeDefined();
    } finally {
      invoking.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('abandons an invoke after shutdown began', async () => {
    const inFlight = new InFlightCalls();
    const abandoning = invokerWith(clientsFor(host.url), { inFlight });
    inFlight.abandonAll();
    const before = host.invocationCount('echo');
    try {
      const outcome = await abandoning.call(
        lambda('echo', { timeout: 5_000 }),
        dispatchRequest(),
        context(),
      );

      expect(outcome.kind).toBe('abandoned');
      expect(host.invocationCount('echo')).toBe(before);
    } finally {
      abandoning.close();
    }
  });

  test.each([
    {
      name: 'a JSON payload under the response cap',
      response: { Payload: viewAtOffset('{"done":true}') },
      maxResponseBytes: 20,
      outcome: { kind: 'completed', returnValue: { done: true } },
    },
    {
      name: 'a function error',
      response: {
        FunctionError: 'Unhandled',
        Payload: viewAtOffset('{"errorType":"TypeError","errorMessage":"image is not a PNG"}'),
      },
      maxResponseBytes: 20,
      outcome: { kind: 'failed', reason: 'TypeError', detail: 'image is not a PNG' },
    },
    {
      name: 'an UnrecoverableError',
      response: {
        FunctionError: 'Unhandled',
        Payload: viewAtOffset('{"errorType":"UnrecoverableError","errorMessage":"bad input"}'),
      },
      maxResponseBytes: 20,
      outcome: { kind: 'unrecoverable', reason: 'UnrecoverableError', detail: 'bad input' },
    },
  ])(
    'reads a payload view at an offset: $name',
    async ({ response, maxResponseBytes, outcome }) => {
      const returning = invokerWith(() => clientThatReturns(response));

      const result = await returning.call(
        lambda('echo', { timeout: 2_000, maxResponseBytes }),
        dispatchRequest(),
        context(),
      );

      expect(result).toEqual(outcome);
    },
  );

  test('fails an attempt on a refused connection', async () => {
    const closedPort = await freePort();
    const refused = invokerWith(clientsFor(`http://127.0.0.1:${closedPort}`));
    try {
      const outcome = await refused.call(
        lambda('echo', { timeout: 2_000 }),
        dispatchRequest(),
        context(),
      );

      expect(outcome).toEqual({
        kind: 'failed',
        reason: 'Connection refused by the Lambda endpoint for function echo',
      });
    } finally {
      refused.close();
    }
  });

  test('reports a reset connection as reset', async () => {
    // Accepts each connection and resets it once the request starts to arrive.
    const resetting = net.createServer((socket) => {
      socket.once('data', () => socket.resetAndDestroy());
    });
    const resettingUrl = await listenOnLoopback(resetting);
    try {
      const outcome = await invokeInPlainNode(resettingUrl, 'echo', 2_000);

      expect(outcome).toEqual({
        kind: 'failed',
        reason: 'The connection to Lambda was reset during function echo: read ECONNRESET',
      });
    } finally {
      await new Promise((resolve) => resetting.close(resolve));
    }
  });

  test('reports a timeout outside jest', async () => {
    const outcome = await invokeInPlainNode(host.url, 'slow', 300, { sleepMs: 1_500 });

    expect(outcome).toEqual({
      kind: 'failed',
      reason: 'The Invoke of function slow timed out after 300 ms',
    });
  });

  test.each([
    {
      error: errorWith('TimeoutError', 'read ECONNRESET', 'ECONNRESET'),
      reason: 'The connection to Lambda was reset during function echo: read ECONNRESET',
    },
    {
      error: errorWith('TimeoutError', 'socket hang up', 'ECONNRESET'),
      reason: 'The connection to Lambda was reset during function echo: socket hang up',
    },
    {
      error: errorWith('TimeoutError', 'write EPIPE', 'EPIPE'),
      reason: 'The connection to Lambda was reset during function echo: write EPIPE',
    },
    {
      error: errorWith(
        'TimeoutError',
        '@smithy/node-http-handler - [ERROR] a request has exceeded the configured 2000 ms requestTimeout.',
        'ETIMEDOUT',
      ),
      reason: 'The Invoke of function echo timed out after 2000 ms',
    },
    {
      error: errorWith(
        'TimeoutError',
        '@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 10000 ms.',
      ),
      reason:
        'Connecting to the Lambda endpoint for function echo timed out: @smithy/node-http-handler - ' +
        'the request socket did not establish a connection with the server within the configured ' +
        'timeout of 10000 ms.',
    },
    {
      error: errorWith('TimeoutError', 'read ETIMEDOUT', 'ETIMEDOUT'),
      reason: 'The connection to Lambda timed out during function echo: read ETIMEDOUT',
    },
  ])('maps a socket error: $error.message', async ({ error, reason }) => {
    const failing = invokerWith(() => clientThatThrows(error));

    const outcome = await failing.call(
      lambda('echo', { timeout: 2_000 }),
      dispatchRequest(),
      context(),
    );

    expect(outcome).toEqual({ kind: 'failed', reason });
  });

  test('fails without retries on an invalid request', async () => {
    const outcome = await invoker.call(
      lambda('echo:live', { qualifier: '1', timeout: 2_000 }),
      dispatchRequest(),
      context(),
    );

    expect(outcome.kind).toBe('unrecoverable');
    expect((outcome as { reason: string }).reason).toMatch(
      /^InvalidParameterValueException from function echo:live:1/,
    );
  });

  test('takes the region from a function ARN', async () => {
    await invoker.call(
      lambda('arn:aws:lambda:eu-west-1:000000000000:function:echo', { timeout: 2_000 }),
      dispatchRequest(),
      context(),
    );

    expect(factoryRegions).toEqual(['eu-west-1']);
  });

  test('fails without retries when no region is known', async () => {
    const noRegion = new LambdaInvoker({
      clientFactory: () => {
        throw new Error('no client may be created without a region');
      },
      inFlight: new InFlightCalls(),
      clock: systemClock,
      throttleDelayMs: THROTTLE_DELAY_MS,
      logger: silentLogger(),
    });

    const outcome = await noRegion.call(lambda('echo'), dispatchRequest(), context());

    expect(outcome.kind).toBe('unrecoverable');
    expect((outcome as { reason: string }).reason).toContain('No AWS region for function "echo"');
  });
});

/**
 * A loopback server in the shape of the Lambda REST API that denies access, because the
 * local Lambda host has no IAM. GetFunctionConfiguration is always denied; Invoke is denied
 * for the function `denied` and returns `"ok"` for any other.
 */
describe('LambdaInvoker access denied', () => {
  let server: http.Server;
  let endpointUrl: string;

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const denied =
          request.method === 'GET' || (request.url ?? '').includes('/functions/denied/');
        if (denied) {
          response
            .writeHead(403, {
              'content-type': 'application/json',
              'x-amzn-errortype': 'AccessDeniedException',
            })
            .end('{"Message":"not authorized to perform lambda:InvokeFunction"}');
          return;
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end('"ok"');
      });
    });
    endpointUrl = await listenOnLoopback(server);
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  });

  function deniedInvoker(logger = silentLogger()): LambdaInvoker {
    return invokerWith(clientsFor(endpointUrl), { logger });
  }

  test('fails without retries when the Invoke is denied', async () => {
    const invoker = deniedInvoker();
    try {
      const outcome = await invoker.call(
        lambda('denied', { timeout: 2_000 }),
        dispatchRequest(),
        context(),
      );

      expect(outcome.kind).toBe('unrecoverable');
      expect((outcome as { reason: string }).reason).toBe(
        'AccessDeniedException from function denied: not authorized to perform lambda:InvokeFunction',
      );
    } finally {
      invoker.close();
    }
  });

  test('invokes with the maximum timeout when the configuration is denied', async () => {
    const { logger, lines } = memoryLogger();
    const invoker = deniedInvoker(logger);
    try {
      const outcome = await invoker.call(lambda('allowed'), dispatchRequest(), context());

      expect(outcome).toEqual({ kind: 'completed', returnValue: 'ok' });
      const warning = lines.find((line) =>
        line.msg.startsWith('reading the function timeout failed'),
      );
      expect(warning?.errorName).toBe('AccessDeniedException');
    } finally {
      invoker.close();
    }
  });
});

/**
 * Runs one call in a plain Node.js process (fixtures/invoke-once.ts) and returns its outcome.
 * Inside jest, Node.js socket errors come from another realm, so @smithy/core wraps them in
 * new Errors and the invoker never receives the error names that a production process gets.
 */
async function invokeInPlainNode(
  endpointUrl: string,
  functionName: string,
  timeoutMs: number,
  data: unknown = null,
): Promise<unknown> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [
      '--import',
      'tsx',
      INVOKE_ONCE,
      endpointUrl,
      functionName,
      String(timeoutMs),
      JSON.stringify(data),
    ],
    { cwd: path.join(__dirname, '..'), timeout: 30_000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '');
}

/** Creates an invoker with the test settings and the region us-east-1. */
function invokerWith(
  clientFactory: LambdaClientFactory,
  options: { inFlight?: InFlightCalls; logger?: Logger; configurationTimeoutMs?: number } = {},
): LambdaInvoker {
  return new LambdaInvoker({
    clientFactory,
    inFlight: options.inFlight ?? new InFlightCalls(),
    defaultRegion: 'us-east-1',
    clock: systemClock,
    throttleDelayMs: THROTTLE_DELAY_MS,
    logger: options.logger ?? silentLogger(),
    configurationTimeoutMs: options.configurationTimeoutMs,
  });
}

/**
 * Starts a server that responds to each request with 200 headers and the first bytes of a
 * 100-byte JSON body, then sends the rest 3 s later, so a call whose deadline fails to stop
 * the body read completes.
 */
async function startStallingServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.once('data', () => {
      socket.write(
        'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"ok":',
      );
      const rest = `true${' '.repeat(89)}}`;
      setTimeout(() => socket.end(rest), 3_000).unref();
    });
  });
  return {
    url: await listenOnLoopback(server),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Resolves as `promise` does, or rejects naming `description` if it takes over `limitMs`. */
async function settlesWithin<T>(
  promise: Promise<T>,
  limitMs: number,
  description: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeLimit = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${description} did not settle within ${limitMs} ms`)),
      limitMs,
    );
  });
  try {
    return await Promise.race([promise, timeLimit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Returns the `count` job ids from `first` upward. */
function idRange(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => first + i);
}

/** Starts `server` on a free loopback port and returns its base URL. */
async function listenOnLoopback(server: net.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** Returns a client factory for the Lambda API at `endpoint` with fake credentials. */
function clientsFor(endpoint: string): LambdaClientFactory {
  return (region) => createLambdaClient({ region, endpoint, credentials: FAKE_CREDENTIALS });
}

/** Builds an Error as the AWS SDK raises it for socket failures: a name, a message and a code. */
function errorWith(name: string, message: string, code?: string): Error {
  const error = new Error(message) as Error & { code?: string };
  error.name = name;
  if (code !== undefined) error.code = code;
  return error;
}

/** Returns a Lambda client whose every call fails with `error`. */
function clientThatThrows(error: Error): LambdaClient {
  return {
    send: () => Promise.reject(error),
    destroy: () => undefined,
  } as unknown as LambdaClient;
}

/** Returns a Lambda client whose every call resolves to `response` with status 200. */
function clientThatReturns(response: InvocationResponse): LambdaClient {
  return {
    send: () => Promise.resolve({ StatusCode: 200, ...response }),
    destroy: () => undefined,
  } as unknown as LambdaClient;
}

/**
 * Returns the UTF-8 bytes of `text` as a view at byte 16 of a larger ArrayBuffer filled with
 * `#`. A reader that ignores byteOffset or byteLength decodes the wrong bytes.
 */
function viewAtOffset(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'utf8');
  const backing = new Uint8Array(bytes.length + 32).fill(0x23);
  backing.set(bytes, 16);
  return new Uint8Array(backing.buffer, 16, bytes.length);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
