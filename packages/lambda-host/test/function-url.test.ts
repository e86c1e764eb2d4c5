import { request } from 'undici';
import { startLambdaHost, type LambdaHost, UnknownFunctionError } from '../src';
import { fixture } from './helpers';

interface FunctionUrlEvent {
  version: string;
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  requestContext: {
    http: { method: string; path: string; sourceIp: string; protocol: string };
    requestId: string;
  };
  body?: string;
  isBase64Encoded: boolean;
}

describe('Function URL', () => {
  let host: LambdaHost;

  beforeAll(async () => {
    const functionUrlFixture = fixture('function-url.ts');
    host = await startLambdaHost({
      functions: [
        {
          name: 'echo-request',
          handlerModule: functionUrlFixture,
          handlerExport: 'echoRequest',
          functionUrl: true,
        },
        {
          name: 'created',
          handlerModule: functionUrlFixture,
          handlerExport: 'created',
          functionUrl: true,
        },
        {
          name: 'binary',
          handlerModule: functionUrlFixture,
          handlerExport: 'binary',
          functionUrl: true,
        },
        {
          name: 'plain-string',
          handlerModule: functionUrlFixture,
          handlerExport: 'plainString',
          functionUrl: true,
        },
        {
          name: 'fail',
          handlerModule: functionUrlFixture,
          handlerExport: 'fail',
          functionUrl: true,
        },
        {
          name: 'slow',
          handlerModule: functionUrlFixture,
          handlerExport: 'slow',
          functionUrl: true,
          timeoutMs: 300,
        },
        { name: 'no-url', handlerModule: functionUrlFixture, handlerExport: 'plainString' },
      ],
    });
  });

  afterAll(async () => {
    await host.close();
  });

  it('passes the request as a payload format 2.0 event', async () => {
    const response = await request(`${host.functionUrl('echo-request')}jobs/7?b=2&a=1&a=3`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Trace-Label': 'Mixed Case',
        cookie: 'a=1; b=2',
      },
      body: JSON.stringify({ hello: 'world' }),
    });
    const event = (await response.body.json()) as FunctionUrlEvent;

    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(event.version).toBe('2.0');
    expect(event.routeKey).toBe('$default');
    expect(event.rawPath).toBe('/jobs/7');
    expect(event.rawQueryString).toBe('b=2&a=1&a=3');
    expect(event.queryStringParameters).toEqual({ a: '1,3', b: '2' });
    expect(event.headers['x-trace-label']).toBe('Mixed Case');
    expect(event.headers['content-type']).toBe('application/json');
    expect(Object.keys(event.headers).every((name) => name === name.toLowerCase())).toBe(true);
    expect(event.cookies).toEqual(['a=1', 'b=2']);
    expect(event.requestContext.http.method).toBe('POST');
    expect(event.requestContext.http.path).toBe('/jobs/7');
    expect(event.requestContext.http.sourceIp).toBe('127.0.0.1');
    expect(event.requestContext.requestId).toBe(response.headers['x-amzn-requestid']);
    expect(event.body).toBe('{"hello":"world"}');
    expect(event.isBase64Encoded).toBe(false);
  });

  it('base64-encodes a binary request body', async () => {
    const response = await request(host.functionUrl('echo-request'), {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: Buffer.from([0, 1, 2, 255]),
    });
    const event = (await response.body.json()) as FunctionUrlEvent;

    expect(event.rawPath).toBe('/');
    expect(event.rawQueryString).toBe('');
    expect(event.queryStringParameters).toBeUndefined();
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body ?? '', 'base64')).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it('omits the body of a GET request', async () => {
    const response = await request(host.functionUrl('echo-request'));
    const event = (await response.body.json()) as FunctionUrlEvent;

    expect(event.requestContext.http.method).toBe('GET');
    expect(event.body).toBeUndefined();
    expect(event.isBase64Encoded).toBe(false);
  });

  it('uses a returned statusCode, headers, cookies and body', async () => {
    const response = await request(host.functionUrl('created'), { method: 'POST' });

    expect(response.statusCode).toBe(201);
    expect(response.headers['content-type']).toBe('text/plain');
    expect(response.headers['x-custom']).toBe('custom value');
    expect(response.headers['set-cookie']).toEqual(['session=abc; Path=/', 'theme=dark']);
    expect(await response.body.text()).toBe('created it');
  });

  it('decodes a base64-encoded response body', async () => {
    const response = await request(host.functionUrl('binary'));

    expect(response.statusCode).toBe(200);
    expect(Buffer.from(await response.body.arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it('sends a result without statusCode as a JSON body', async () => {
    const response = await request(host.functionUrl('plain-string'));

    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(await response.body.text()).toBe('"Hello, world!"');
  });

  it('answers a thrown error with 502 Internal Server Error', async () => {
    const response = await request(host.functionUrl('fail'));

    expect(response.statusCode).toBe(502);
    expect(await response.body.text()).toBe('Internal Server Error');
    expect(host.invocationCount('fail')).toBe(1);
  });

  it('answers a timeout with 502', async () => {
    const response = await request(host.functionUrl('slow'));

    expect(response.statusCode).toBe(502);
    expect(await response.body.text()).toBe('Internal Server Error');
  });

  it('rejects functionUrl for a function without a Function URL', () => {
    expect(() => host.functionUrl('no-url')).toThrow(UnknownFunctionError);
    expect(() => host.functionUrl('no-url')).toThrow(/functionUrl: true/);
    expect(() => host.functionUrl('missing')).toThrow(/is not defined on this host/);
  });
});
