import net from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { httpEndpointSchema, parseEndpointAllowlist, type HttpEndpoint } from '@bullpen/core';
import { InFlightCalls, systemClock } from '../src/invokers/call-context';
import { EndpointPools } from '../src/invokers/endpoint-pools';
import { HttpInvoker } from '../src/invokers/http-invoker';
import { SigV4Signer } from '../src/invokers/sigv4-signer';
import { sampleDispatchRequest } from './support/dispatch-request';
import { startEndpointServer, type EndpointServer } from './support/endpoint-server';

const FAKE_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const THROTTLE_DELAY_MS = 1234;

const dispatchRequest = sampleDispatchRequest({ image: 'a.png' });

function createInvoker(pools: EndpointPools, inFlight = new InFlightCalls()): HttpInvoker {
  return new HttpInvoker({
    pools,
    inFlight,
    clock: systemClock,
    throttleDelayMs: THROTTLE_DELAY_MS,
    signer: new SigV4Signer(FAKE_CREDENTIALS),
    defaultRegion: 'us-east-1',
  });
}

function endpointFor(
  server: EndpointServer,
  overrides: Record<string, unknown> = {},
): HttpEndpoint {
  return httpEndpointSchema.parse({ url: `${server.url}/run`, ...overrides });
}

const context = (attempt = 1) => ({ attempt });

describe('HttpInvoker', () => {
  let server: EndpointServer;
  let pools: EndpointPools;
  let invoker: HttpInvoker;

  beforeEach(async () => {
    server = await startEndpointServer();
    pools = new EndpointPools({ allowlist: parseEndpointAllowlist('127.0.0.0/8,::1') });
    invoker = createInvoker(pools);
  });

  afterEach(async () => {
    await pools.destroy();
    await server.close();
  });

  test('sends the dispatch document and protocol headers', async () => {
    const endpoint = endpointFor(server, {
      method: 'put',
      headers: {
        'X-Api-Key': 'secret-1',
        'Bullpen-Queue': 'spoofed',
        'Content-Type': 'text/plain',
      },
    });

    await invoker.call(endpoint, dispatchRequest, context(2));

    const call = server.calls[0]!;
    expect(call.method).toBe('PUT');
    expect(call.path).toBe('/run');
    expect(call.body).toEqual(dispatchRequest);
    expect(call.headers['content-type']).toBe('application/json');
    expect(call.headers['x-api-key']).toBe('secret-1');
    expect(call.headers['bullpen-queue']).toBe('thumbnails');
    expect(call.headers['bullpen-job-id']).toBe('7');
    expect(call.headers['bullpen-attempt']).toBe('2');
    expect(call.headers['idempotency-key']).toBe('thumbnails:7');
    expect(call.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const headerNames = call.rawHeaders.filter((_, index) => index % 2 === 0);
    expect(headerNames.filter((name) => name.toLowerCase() === 'content-type')).toHaveLength(1);
    expect(headerNames.filter((name) => name.toLowerCase() === 'bullpen-queue')).toHaveLength(1);
  });

  test('sends a new traceparent and the same idempotency key on each call', async () => {
    const endpoint = endpointFor(server);
    await invoker.call(endpoint, dispatchRequest, context(1));
    await invoker.call(endpoint, dispatchRequest, context(2));

    const [first, second] = server.calls;
    expect(first!.headers.traceparent).not.toBe(second!.headers.traceparent);
    expect(first!.headers['idempotency-key']).toBe(second!.headers['idempotency-key']);
  });

  test.each([
    ['a JSON body', 'application/json', '{"width":100,"tags":["a"]}', { width: 100, tags: ['a'] }],
    ['a text body', 'text/plain', 'resized', 'resized'],
    ['an empty body', 'application/json', '', null],
    ['a JSON scalar', 'application/json', '0', 0],
  ])('completes with %s', async (_label, contentType, body, expected) => {
    server.setHandler((_call, response) => {
      response.writeHead(200, { 'content-type': contentType }).end(body);
    });

    const outcome = await invoker.call(endpointFor(server), dispatchRequest, context());

    expect(outcome).toEqual({ kind: 'completed', returnValue: expected });
  });

  test('completes with null on 204', async () => {
    server.setHandler((_call, response) => response.writeHead(204).end());

    const outcome = await invoker.call(endpointFor(server), dispatchRequest, context());

    expect(outcome).toEqual({ kind: 'completed', returnValue: null });
  });

  test('fails a redirect without following it', async () => {
    server.setHandler((call, response) => {
      if (call.path === '/run') response.writeHead(302, { location: '/elsewhere' }).end();
      else response.writeHead(200).end('followed');
    });

    const outcome = await invoker.call(endpointFor(server), dispatchRequest, context());

    expect(outcome).toEqual({
      kind: 'failed',
      reason: 'HTTP 302 Found: redirects are not followed (Location: /elsewhere)',
    });
    expect(server.calls.map((call) => call.path)).toEqual(['/run']);
  });

  test('throttles on 429 with Retry-After seconds', async () => {
    server.setHandler((_call, response) => response.writeHead(429, { 'retry-after': '2' }).end());

    const outcome = await invoker.call(endpointFor(server), dispatchRequest, context());

    expect(outcome).toEqual({
      kind: 'throttled',
      reason: 'HTTP 429 Too Many Requests (Retry-After: 2)',
      retryAfterMs: 2000,
    });
  });

  test('throttles on 429 without Retry-After for the default delay', async () => {
    server.setHandler((_call, response) => response.writeHead(429).end());

    const outcome = await invoker.call(endpointFor(server), dispatchRequest, context());

    expect(outcome).toMatchObject({ kind: 'throttled', retryAfterMs: THROTTLE_DELAY_MS });
  });

  test('throttles on 503 with a Retry-After date', async () => {
    const retryAt = new Date(Date.now() + 5_000).toUTCString();
    server.setHandler((_call, response) =>
      response.writeHead(503, { 'retry-after': retryAt }).end(),
    );

    const outcome = await invoker.call(endpointFor(server), dispatchRequest, context());

    expect(outcome.kind).toBe('throttled');
    const retryAfterMs = (outcome as { retryAfterMs: number }).retryAfterMs;
    expect(retryAfterMs).toBeGreaterThan(3_000);
    expect(retryAfterMs).toBeLessThanOrEqual(5_000);
  });

  test('fails an attempt on 503 without Retry-After', async () => {
    server.setHandler((_call, response) => response.writeHead(503).end('maintenance'));

    const outcome = await invoker.call(endpointFor(server), dispatchRequest, context());

    expect(outcome).toEqual({
      kind: 'failed',
      reason: 'HTTP 503 Service Unavailable',
      detail: 'maintenance',
    });
  });

  test('fails an attempt on 500 with the first KB of the body', async () => {
    const body = 'x'.repeat(5000);
    server.setHandler((_call, response) => response.writeHead(500).end(body));

    const outcome = await invoker.call(endpointFor(server), dispatchRequest, context());

    expect(outcome).toEqual({
      kind: 'failed',
      reason: 'HTTP 500 Internal Server Error',
      detail: `${'x'.repeat(1024)}...`,
    });
  });

  test('fails without retries when marked unrecoverable', async () => {
    server.setHandler((_call, response) => {
      response.writeHead(422, { 'bullpen-unrecoverable': 'true' }).end('bad image');
    });

    const outcome = await invoker.call(endpointFor(server), dispatchRequest, context());

    expect(outcome).toEqual({
      kind: 'unrecoverable',
      reason: 'HTTP 422 Unprocessable Entity, marked unrecoverable by the endpoint',
      detail: 'bad image',
    });
  });

  test('times out when no answer arrives', async () => {
    server.setHandler(() => undefined);
    const startedMs = Date.now();

    const outcome = await invoker.call(
      endpointFor(server, { timeout: 300 }),
      dispatchRequest,
      context(),
    );

    expect(outcome).toEqual({
      kind: 'failed',
      reason: `The call to ${server.url} timed out after 300 ms`,
    });
    expect(Date.now() - startedMs).toBeLessThan(2_000);
  });

  test('times out while the body is still arriving', async () => {
    server.setHandler((_call, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('partial');
    });

    const outcome = await invoker.call(
      endpointFor(server, { timeout: 300 }),
      dispatchRequest,
      context(),
    );

    expect(outcome).toMatchObject({
      kind: 'failed',
      reason: expect.stringContaining('timed out after 300 ms'),
    });
  });

  test('fails without retries over the declared cap', async () => {
    server.setHandler((_call, response) => {
      response.writeHead(200, { 'content-length': '2000' }).end('y'.repeat(2000));
    });

    const outcome = await invoker.call(
      endpointFor(server, { maxResponseBytes: 1000 }),
      dispatchRequest,
      context(),
    );

    expect(outcome.kind).toBe('unrecoverable');
    expect((outcome as { reason: string }).reason).toContain(
      'larger than maxResponseBytes (1000 bytes)',
    );
  });

  test('stops reading a chunked body at the cap', async () => {
    let bytesWritten = 0;
    server.setHandler((_call, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = 'z'.repeat(16 * 1024);
      // Keeps writing until the client hangs up, so the test fails if the read does not stop.
      const timer = setInterval(() => {
        if (response.destroyed || bytesWritten > 64 * 1024 * 1024) {
          clearInterval(timer);
          response.end();
          return;
        }
        response.write(chunk);
        bytesWritten += chunk.length;
      }, 1);
    });

    const outcome = await invoker.call(
      endpointFor(server, { maxResponseBytes: 50_000 }),
      dispatchRequest,
      context(),
    );

    expect(outcome.kind).toBe('unrecoverable');
    expect(bytesWritten).toBeLessThan(64 * 1024 * 1024);
  });

  test('fails an attempt when the body is truncated', async () => {
    server.setHandler((_call, response, request) => {
      response.writeHead(200, { 'content-length': '100' });
      response.write('only ten b');
      setTimeout(() => request.socket.destroy(), 20);
    });

    const outcome = await invoker.call(endpointFor(server), dispatchRequest, context());

    expect(outcome).toMatchObject({
      kind: 'failed',
      reason: `The response body from ${server.url} was truncated`,
    });
  });

  test('fails an attempt when the connection is refused', async () => {
    const closedPort = await freePort();

    const outcome = await invoker.call(
      httpEndpointSchema.parse({ url: `http://127.0.0.1:${closedPort}/run` }),
      dispatchRequest,
      context(),
    );

    expect(outcome).toEqual({
      kind: 'failed',
      reason: `Connection refused by http://127.0.0.1:${closedPort}`,
    });
  });

  test('fails an attempt when the connection is reset', async () => {
    server.setHandler((_call, _response, request) => request.socket.destroy());

    const outcome = await invoker.call(endpointFor(server), dispatchRequest, context());

    expect(outcome.kind).toBe('failed');
    expect((outcome as { reason: string }).reason).toContain(
      `The connection to ${server.url} was reset`,
    );
  });

  test('rejects a loopback IP literal at connect', async () => {
    const strictPools = new EndpointPools({ allowlist: parseEndpointAllowlist('') });
    try {
      const outcome = await createInvoker(strictPools).call(
        endpointFor(server),
        dispatchRequest,
        context(),
      );

      expect(outcome.kind).toBe('unrecoverable');
      expect((outcome as { reason: string }).reason).toContain('127.0.0.1, a loopback address');
      expect(server.calls).toHaveLength(0);
    } finally {
      await strictPools.destroy();
    }
  });

  test('rejects a name resolving to loopback', async () => {
    const strictPools = new EndpointPools({ allowlist: parseEndpointAllowlist('') });
    const port = new URL(server.url).port;
    try {
      const outcome = await createInvoker(strictPools).call(
        httpEndpointSchema.parse({ url: `http://localhost:${port}/run` }),
        dispatchRequest,
        context(),
      );

      expect(outcome.kind).toBe('unrecoverable');
      expect((outcome as { reason: string }).reason).toContain(
        'Endpoint host "localhost" resolves to',
      );
      expect(server.calls).toHaveLength(0);
    } finally {
      await strictPools.destroy();
    }
  });

  test('abandons an in-flight call at shutdown', async () => {
    server.setHandler(() => undefined);
    const inFlight = new InFlightCalls();
    setTimeout(() => inFlight.abandonAll(), 100);

    const outcome = await createInvoker(pools, inFlight).call(
      endpointFor(server),
      dispatchRequest,
      context(),
    );

    expect(outcome.kind).toBe('abandoned');
  });

  test('abandons calls started after shutdown', async () => {
    // A bare TCP server, so that the test counts connections, not only requests.
    let connections = 0;
    const listener = net.createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const { port } = listener.address() as net.AddressInfo;
    const inFlight = new InFlightCalls();
    inFlight.abandonAll();

    try {
      const outcome = await createInvoker(pools, inFlight).call(
        httpEndpointSchema.parse({ url: `http://127.0.0.1:${port}/run` }),
        dispatchRequest,
        context(),
      );
      // A connection that had been opened would arrive within this wait on loopback.
      await new Promise((resolve) => setTimeout(resolve, 200));

      expect(outcome.kind).toBe('abandoned');
      expect(connections).toBe(0);
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
  });

  test('signs aws-iam endpoints with SigV4 for lambda', async () => {
    const endpoint = endpointFor(server, {
      auth: { type: 'aws-iam', region: 'eu-west-1' },
      headers: { 'x-extra': 'value' },
    });

    await invoker.call(endpoint, dispatchRequest, context());

    const call = server.calls[0]!;
    const authorization = String(call.headers.authorization);
    expect(authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=test\/\d{8}\/eu-west-1\/lambda\/aws4_request, SignedHeaders=\S+, Signature=[0-9a-f]{64}$/,
    );
    expect(await expectedAuthorization(call, server.url, 'eu-west-1')).toBe(authorization);
  });

  test('fails the attempt when aws-iam has no region', async () => {
    const noRegion = new HttpInvoker({
      pools,
      inFlight: new InFlightCalls(),
      clock: systemClock,
      throttleDelayMs: THROTTLE_DELAY_MS,
      signer: new SigV4Signer(FAKE_CREDENTIALS),
    });

    const outcome = await noRegion.call(
      endpointFor(server, { auth: { type: 'aws-iam' } }),
      dispatchRequest,
      context(),
    );

    expect(outcome.kind).toBe('failed');
    expect((outcome as { reason: string }).reason).toContain('no AWS region for SigV4');
    expect(server.calls).toHaveLength(0);
  });
});

/** Signs the received request again, as Lambda would, and returns the expected Authorization. */
async function expectedAuthorization(
  call: { method: string; path: string; headers: Record<string, unknown>; rawBody: string },
  baseUrl: string,
  region: string,
): Promise<string> {
  const url = new URL(call.path, baseUrl);
  const signedHeaderNames = /SignedHeaders=([^,]+)/
    .exec(String(call.headers.authorization))![1]!
    .split(';');
  const headers: Record<string, string> = {};
  for (const name of signedHeaderNames) headers[name] = String(call.headers[name]);

  const amzDate = String(call.headers['x-amz-date']);
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const signer = new SignatureV4({
    service: 'lambda',
    region,
    credentials: FAKE_CREDENTIALS,
    sha256: Sha256,
  });
  const signed = await signer.sign(
    {
      method: call.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: {},
      headers,
      body: call.rawBody,
    },
    { signingDate },
  );
  return signed.headers.authorization!;
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
