import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import net from 'node:net';
import { z } from 'zod';
import {
  CallbackError,
  createJobHandler,
  InvalidDispatchEventError,
  InvalidJobDataError,
  UnrecoverableError,
  type FunctionUrlResponse,
  type JobContext,
} from '../src';
import { startCallbackServer, type CallbackServer } from './callback-server';

const TOKEN = 'job-token-3f9a';

let api: CallbackServer;

beforeEach(async () => {
  api = await startCallbackServer();
});

afterEach(async () => {
  await api.close();
});

function dispatchRequest(
  overrides: { data?: unknown; queue?: string; jobId?: string; attemptsMade?: number } = {},
) {
  return {
    job: {
      id: overrides.jobId ?? '42',
      name: 'report',
      data: 'data' in overrides ? overrides.data : { file: 'sales.csv' },
      opts: { attempts: 3 },
      progress: 0,
      returnvalue: null,
      stacktrace: [],
      attemptsMade: overrides.attemptsMade ?? 0,
      attemptsStarted: 1,
      delay: 0,
      timestamp: 1_700_000_000_000,
      queueQualifiedName: `bull:${overrides.queue ?? 'reports'}`,
    },
    token: TOKEN,
    queue: overrides.queue ?? 'reports',
    callbackUrl: api.url,
  };
}

function functionUrlEvent(body: string, isBase64Encoded = false): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: 'POST',
        path: '/',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'test',
      },
      requestId: 'request-1',
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 0,
    },
    body,
    isBase64Encoded,
  };
}

/** Builds a Lambda context whose deadline is `remainingMs` from now. */
function lambdaContext(remainingMs: number): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'reports',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:reports',
    memoryLimitInMB: '128',
    awsRequestId: 'request-1',
    logGroupName: '/aws/lambda/reports',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function closedPortUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe('createJobHandler with a direct Invoke', () => {
  test('returns the processor result', async () => {
    const handler = createJobHandler(async (job) => ({ received: job.data }));

    const result = await handler(dispatchRequest({ data: { file: 'weather.csv' } }));

    expect(result).toEqual({ received: { file: 'weather.csv' } });
  });

  test('passes data such as 0, false and null through', async () => {
    const handler = createJobHandler(async (job) => job.data);

    for (const data of [0, false, null, '']) {
      expect(await handler(dispatchRequest({ data }))).toBe(data);
    }
  });

  test('sends progress and logs with the job token', async () => {
    const handler = createJobHandler(async (_job, ctx) => {
      await ctx.progress({ percent: 50 });
      await ctx.log('halfway');
      return 'done';
    });

    await handler(dispatchRequest({ queue: 'reports', jobId: '7' }));

    expect(api.received).toHaveLength(2);
    expect(api.received[0]).toEqual({
      method: 'POST',
      path: '/queues/reports/jobs/7/progress',
      authorization: `Bearer ${TOKEN}`,
      contentType: 'application/json',
      body: { percent: 50 },
    });
    expect(api.received[1]?.path).toBe('/queues/reports/jobs/7/logs');
    expect(api.received[1]?.body).toBe('halfway');
  });

  test('percent-encodes queue and job id in callback paths', async () => {
    const handler = createJobHandler(async (_job, ctx) => ctx.progress(1));

    await handler(dispatchRequest({ queue: '{tenant} reports', jobId: 'job/1?x' }));

    expect(api.received[0]?.path).toBe('/queues/%7Btenant%7D%20reports/jobs/job%2F1%3Fx/progress');
  });

  test('keeps the path prefix of the callback URL', async () => {
    const handler = createJobHandler(async (_job, ctx) => ctx.log('line'));
    const request = { ...dispatchRequest(), callbackUrl: `${api.url}/bullpen/` };

    await handler(request);

    expect(api.received[0]?.path).toBe('/bullpen/queues/reports/jobs/42/logs');
  });

  test('delivers unawaited callbacks in order before returning', async () => {
    const handler = createJobHandler(async (_job, ctx) => {
      void ctx.log('first');
      void ctx.progress(30);
      void ctx.log('second');
      return 'result';
    });
    api.reply = (callback) => ({ status: 200, delayMs: callback.body === 'first' ? 50 : 0 });

    const result = await handler(dispatchRequest());

    expect(result).toBe('result');
    expect(api.received.map((callback) => callback.body)).toEqual(['first', 30, 'second']);
  });

  test('sends null progress when given undefined', async () => {
    const handler = createJobHandler(async (_job, ctx) => ctx.progress(undefined));

    await handler(dispatchRequest());

    expect(api.received[0]?.body).toBeNull();
  });

  test('numbers the attempt from attemptsMade', async () => {
    const seen: Array<Pick<JobContext, 'attempt' | 'maxAttempts' | 'queue' | 'source'>> = [];
    const handler = createJobHandler(async (_job, ctx) => {
      seen.push({
        attempt: ctx.attempt,
        maxAttempts: ctx.maxAttempts,
        queue: ctx.queue,
        source: ctx.source,
      });
    });

    await handler(dispatchRequest({ attemptsMade: 0 }));
    await handler(dispatchRequest({ attemptsMade: 2 }));

    expect(seen).toEqual([
      { attempt: 1, maxAttempts: 3, queue: 'reports', source: 'invoke' },
      { attempt: 3, maxAttempts: 3, queue: 'reports', source: 'invoke' },
    ]);
  });

  test('counts one attempt when attempts is unset', async () => {
    const handler = createJobHandler(async (_job, ctx) => ctx.maxAttempts);
    const request = dispatchRequest();

    // BullMQ stores attempts 0 for a job added without the option.
    expect(await handler({ ...request, job: { ...request.job, opts: { attempts: 0 } } })).toBe(1);
    expect(await handler({ ...request, job: { ...request.job, opts: {} } })).toBe(1);
  });

  test('throws UnrecoverableError with its wire name', async () => {
    const handler = createJobHandler(async () => {
      throw new UnrecoverableError('unknown column "rainfall"');
    });

    const failure = await handler(dispatchRequest()).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(UnrecoverableError);
    expect((failure as Error).name).toBe('UnrecoverableError');
    expect((failure as Error).message).toBe('unknown column "rainfall"');
  });

  test('throws plain errors unchanged', async () => {
    const original = new TypeError('boom');
    const handler = createJobHandler(async () => {
      throw original;
    });

    await expect(handler(dispatchRequest())).rejects.toBe(original);
  });

  test('sends pending callbacks before rethrowing', async () => {
    const handler = createJobHandler(async (_job, ctx) => {
      void ctx.log('about to fail');
      throw new Error('boom');
    });

    await expect(handler(dispatchRequest())).rejects.toThrow('boom');
    expect(api.received.map((callback) => callback.body)).toEqual(['about to fail']);
  });

  test('rejects an event that is not a dispatch request', async () => {
    const handler = createJobHandler(async () => 'never');

    for (const event of [
      undefined,
      'text',
      { job: { id: '1' } },
      { ...dispatchRequest(), token: '' },
    ]) {
      const failure = await handler(event).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(InvalidDispatchEventError);
      expect((failure as Error).name).toBe('UnrecoverableError');
    }
  });

  test('names the invalid field of the event', async () => {
    const handler = createJobHandler(async () => 'never');

    await expect(handler({ ...dispatchRequest(), callbackUrl: 'ftp://x' })).rejects.toThrow(
      /callbackUrl/,
    );
  });
});

describe('createJobHandler with a dataSchema', () => {
  const reportSchema = z.object({
    file: z.string(),
    columns: z.array(z.string()).default(['revenue']),
  });

  test('passes parsed data with defaults', async () => {
    const handler = createJobHandler(async (job) => job.data.columns, { dataSchema: reportSchema });

    expect(await handler(dispatchRequest({ data: { file: 'sales.csv' } }))).toEqual(['revenue']);
  });

  test('fails invalid data as unrecoverable', async () => {
    let ran = false;
    const handler = createJobHandler(
      async () => {
        ran = true;
      },
      { dataSchema: reportSchema },
    );

    const failure = await handler(dispatchRequest({ data: { file: 3 } })).catch(
      (error: unknown) => error,
    );

    expect(ran).toBe(false);
    expect(failure).toBeInstanceOf(InvalidJobDataError);
    expect((failure as Error).name).toBe('UnrecoverableError');
    expect((failure as InvalidJobDataError).issues).toEqual([
      { path: 'data.file', message: expect.stringContaining('string') },
    ]);
    expect((failure as Error).message).toContain('job 42');
  });
});

describe('createJobHandler with a Function URL event', () => {
  test('answers 200 with the result as JSON', async () => {
    const handler = createJobHandler(async (job, ctx) => ({ name: job.name, source: ctx.source }));

    const response = (await handler(
      functionUrlEvent(JSON.stringify(dispatchRequest())),
    )) as FunctionUrlResponse;

    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(JSON.parse(response.body)).toEqual({ name: 'report', source: 'function-url' });
  });

  test('answers null for an undefined result', async () => {
    const handler = createJobHandler(async () => undefined);

    const response = (await handler(
      functionUrlEvent(JSON.stringify(dispatchRequest())),
    )) as FunctionUrlResponse;

    expect(response.body).toBe('null');
  });

  test('decodes a base64 body', async () => {
    const handler = createJobHandler(async (job) => job.data);
    const body = Buffer.from(JSON.stringify(dispatchRequest({ data: 'über' }))).toString('base64');

    const response = (await handler(functionUrlEvent(body, true))) as FunctionUrlResponse;

    expect(JSON.parse(response.body)).toBe('über');
  });

  test('sends callbacks from a Function URL request', async () => {
    const handler = createJobHandler(async (_job, ctx) => {
      await ctx.progress(100);
    });

    await handler(functionUrlEvent(JSON.stringify(dispatchRequest())));

    expect(api.received[0]?.path).toBe('/queues/reports/jobs/42/progress');
    expect(api.received[0]?.authorization).toBe(`Bearer ${TOKEN}`);
  });

  test('marks UnrecoverableError with the header', async () => {
    const handler = createJobHandler(async () => {
      throw new UnrecoverableError('no such file');
    });

    const response = (await handler(
      functionUrlEvent(JSON.stringify(dispatchRequest())),
    )) as FunctionUrlResponse;

    expect(response.statusCode).toBe(422);
    expect(response.headers['bullpen-unrecoverable']).toBe('true');
    expect(JSON.parse(response.body)).toEqual({
      errorType: 'UnrecoverableError',
      errorMessage: 'no such file',
    });
  });

  test('answers 500 without the header for plain errors', async () => {
    const handler = createJobHandler(async () => {
      throw new RangeError('flaky');
    });

    const response = (await handler(
      functionUrlEvent(JSON.stringify(dispatchRequest())),
    )) as FunctionUrlResponse;

    expect(response.statusCode).toBe(500);
    expect(response.headers['bullpen-unrecoverable']).toBeUndefined();
    expect(JSON.parse(response.body)).toEqual({ errorType: 'RangeError', errorMessage: 'flaky' });
  });

  test('answers 400 unrecoverable for a malformed body', async () => {
    const handler = createJobHandler(async () => 'never');

    for (const body of ['', 'not json', JSON.stringify({ job: {} })]) {
      const response = (await handler(functionUrlEvent(body))) as FunctionUrlResponse;
      expect(response.statusCode).toBe(400);
      expect(response.headers['bullpen-unrecoverable']).toBe('true');
    }
  });

  test('answers 422 for data that fails the schema', async () => {
    const handler = createJobHandler(async () => 'never', {
      dataSchema: z.object({ file: z.string() }),
    });

    const response = (await handler(
      functionUrlEvent(JSON.stringify(dispatchRequest({ data: {} }))),
    )) as FunctionUrlResponse;

    expect(response.statusCode).toBe(422);
    expect(response.headers['bullpen-unrecoverable']).toBe('true');
    expect(JSON.parse(response.body).errorMessage).toContain('data.file');
  });
});

describe('callback failures', () => {
  test('reject the awaited call with the API status and code', async () => {
    api.reply = () => ({
      status: 401,
      body: { error: { code: 'unauthorized', message: 'The job token is not valid' } },
    });
    const handler = createJobHandler(async (_job, ctx) =>
      ctx.progress(10).then(
        () => 'sent',
        (error: unknown) => error,
      ),
    );

    const failure = await handler(dispatchRequest());

    expect(failure).toBeInstanceOf(CallbackError);
    expect((failure as CallbackError).status).toBe(401);
    expect((failure as CallbackError).code).toBe('unauthorized');
    expect((failure as CallbackError).kind).toBe('progress');
    expect((failure as CallbackError).message).toContain('job 42');
    expect((failure as CallbackError).message).not.toContain(TOKEN);
  });

  test('do not fail the job when ignored', async () => {
    api.reply = () => ({ status: 500 });
    const reported: CallbackError[] = [];
    const handler = createJobHandler(
      async (_job, ctx) => {
        void ctx.log('lost line');
        return 'completed anyway';
      },
      { onCallbackError: (error) => reported.push(error) },
    );

    expect(await handler(dispatchRequest())).toBe('completed anyway');
    expect(reported).toHaveLength(1);
    expect(reported[0]?.status).toBe(500);
    expect(reported[0]?.kind).toBe('logs');
  });

  test('raise no unhandled rejection when ignored', async () => {
    api.reply = () => ({ status: 503 });
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    const handler = createJobHandler(async (_job, ctx) => {
      void ctx.progress(1);
      return 'ok';
    });

    try {
      expect(await handler(dispatchRequest())).toBe('ok');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', record);
    }

    expect(api.received).toHaveLength(1);
    expect(unhandled).toEqual([]);
  });

  test('fail the job when the handler lets them escape', async () => {
    api.reply = () => ({ status: 404 });
    const handler = createJobHandler(async (_job, ctx) => {
      await ctx.log('line');
    });

    await expect(handler(dispatchRequest())).rejects.toBeInstanceOf(CallbackError);
  });

  test('report a refused connection without a status', async () => {
    const handler = createJobHandler(async (_job, ctx) =>
      ctx.log('line').catch((error: unknown) => error),
    );
    const request = { ...dispatchRequest(), callbackUrl: await closedPortUrl() };

    const failure = (await handler(request)) as CallbackError;

    expect(failure).toBeInstanceOf(CallbackError);
    expect(failure.status).toBeUndefined();
    expect(failure.message).toContain('ECONNREFUSED');
  });

  test('time out after callbackTimeoutMs', async () => {
    api.reply = () => ({ status: 200, delayMs: 2000 });
    const handler = createJobHandler(
      async (_job, ctx) => ctx.progress(5).catch((error: unknown) => error),
      { callbackTimeoutMs: 100 },
    );

    const failure = (await handler(dispatchRequest())) as CallbackError;

    expect(failure).toBeInstanceOf(CallbackError);
    expect(failure.message).toContain('no response within 100 ms');
  });

  test('keep later calls going after one fails', async () => {
    api.reply = (callback) => ({ status: callback.body === 'bad' ? 500 : 200 });
    const handler = createJobHandler(async (_job, ctx) => {
      void ctx.log('bad');
      await ctx.log('good');
      return 'ok';
    });

    expect(await handler(dispatchRequest())).toBe('ok');
    expect(api.received.map((callback) => callback.body)).toEqual(['bad', 'good']);
  });
});

describe('deadline', () => {
  test('aborts the signal before the Lambda deadline', async () => {
    const handler = createJobHandler(
      async (_job, ctx) => {
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        return { reason: (ctx.signal.reason as Error).name, remainingMs: ctx.remainingTimeMs() };
      },
      { deadlineMarginMs: 200 },
    );

    const result = (await handler(dispatchRequest(), lambdaContext(400))) as {
      reason: string;
      remainingMs: number;
    };

    expect(result.reason).toBe('TimeoutError');
    expect(result.remainingMs).toBeGreaterThan(0);
  });

  test('never aborts without a Lambda context', async () => {
    const handler = createJobHandler(async (_job, ctx) => ({
      aborted: ctx.signal.aborted,
      remainingMs: ctx.remainingTimeMs(),
    }));

    expect(await handler(dispatchRequest())).toEqual({
      aborted: false,
      remainingMs: Number.POSITIVE_INFINITY,
    });
  });

  test('rejects a negative margin', () => {
    expect(() => createJobHandler(async () => null, { deadlineMarginMs: -1 })).toThrow(
      /deadlineMarginMs/,
    );
  });
});
