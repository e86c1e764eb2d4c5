import fs from 'node:fs';
import path from 'node:path';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { startLambdaHost, type LambdaHost } from '../src';
import { fixture, lambdaClient, payload, resultOf, sleep, temporaryDirectory } from './helpers';

interface ErrorDocument {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

function errorOf(response: { Payload?: Uint8Array }): ErrorDocument {
  return resultOf(response as never) as ErrorDocument;
}

describe('function errors', () => {
  let host: LambdaHost;
  let client: LambdaClient;
  let markers: { path: string; remove: () => void };

  beforeAll(async () => {
    markers = temporaryDirectory();
    host = await startLambdaHost({
      functions: [
        { name: 'throw-error', handlerModule: fixture('failures.ts'), handlerExport: 'throwError' },
        {
          name: 'throw-unrecoverable',
          handlerModule: fixture('failures.ts'),
          handlerExport: 'throwUnrecoverable',
        },
        {
          name: 'throw-string',
          handlerModule: fixture('failures.ts'),
          handlerExport: 'throwString',
        },
        {
          name: 'sleep-short-timeout',
          handlerModule: fixture('failures.ts'),
          handlerExport: 'sleepThenRecord',
          timeoutMs: 500,
        },
        {
          name: 'sleep-long-timeout',
          handlerModule: fixture('failures.ts'),
          handlerExport: 'sleepThenRecord',
          timeoutMs: 5_000,
        },
        { name: 'exit', handlerModule: fixture('failures.ts'), handlerExport: 'exitOnRequest' },
        { name: 'crash', handlerModule: fixture('failures.ts'), handlerExport: 'crashOnRequest' },
        { name: 'sized', handlerModule: fixture('results.ts'), handlerExport: 'sized' },
        { name: 'circular', handlerModule: fixture('results.ts'), handlerExport: 'circular' },
        { name: 'init-failure', handlerModule: fixture('init-failure.ts') },
        { name: 'missing-export', handlerModule: fixture('results.ts'), handlerExport: 'notThere' },
      ],
    });
    client = lambdaClient(host);
  });

  afterAll(async () => {
    client.destroy();
    await host.close();
    markers.remove();
  });

  it('reports a thrown error as Unhandled with its name, message and trace', async () => {
    const response = await client.send(new InvokeCommand({ FunctionName: 'throw-error' }));

    expect(response.StatusCode).toBe(200);
    expect(response.FunctionError).toBe('Unhandled');
    expect(response.ExecutedVersion).toBe('$LATEST');
    const error = errorOf(response);
    expect(error.errorType).toBe('Error');
    expect(error.errorMessage).toBe('the handler failed');
    expect(error.trace?.[0]).toBe('Error: the handler failed');
    expect(error.trace?.some((line) => line.includes('failures.ts'))).toBe(true);
  });

  it('uses the error name as errorType', async () => {
    const response = await client.send(new InvokeCommand({ FunctionName: 'throw-unrecoverable' }));

    expect(response.FunctionError).toBe('Unhandled');
    expect(errorOf(response)).toMatchObject({
      errorType: 'UnrecoverableError',
      errorMessage: 'the input can never be processed',
    });
  });

  it('reports a thrown string with its type', async () => {
    const response = await client.send(new InvokeCommand({ FunctionName: 'throw-string' }));

    expect(response.FunctionError).toBe('Unhandled');
    expect(errorOf(response)).toEqual({
      errorType: 'string',
      errorMessage: 'a plain string',
      trace: [],
    });
  });

  it('keeps the environment warm after a thrown error', async () => {
    await client.send(new InvokeCommand({ FunctionName: 'throw-error' }));
    const response = await client.send(
      new InvokeCommand({ FunctionName: 'throw-error', LogType: 'Tail' }),
    );

    expect(errorOf(response).errorMessage).toBe('the handler failed');
    // Only the first invocation of an environment reports an init duration.
    const log = Buffer.from(response.LogResult ?? '', 'base64').toString();
    expect(log).toContain('REPORT RequestId:');
    expect(log).not.toContain('Init Duration');
  });

  it('lets a handler within its timeout finish and record', async () => {
    const markerPath = path.join(markers.path, 'within-timeout');
    const response = await client.send(
      new InvokeCommand({
        FunctionName: 'sleep-long-timeout',
        Payload: payload({ sleepMs: 50, markerPath }),
      }),
    );

    expect(resultOf(response)).toBe('finished');
    expect(fs.existsSync(markerPath)).toBe(true);
  });

  it('stops a timed-out handler before it records anything', async () => {
    const markerPath = path.join(markers.path, 'after-timeout');
    const response = await client.send(
      new InvokeCommand({
        FunctionName: 'sleep-short-timeout',
        LogType: 'Tail',
        Payload: payload({ sleepMs: 1_000, markerPath }),
      }),
    );

    expect(response.StatusCode).toBe(200);
    expect(response.FunctionError).toBe('Unhandled');
    const requestId = response.$metadata.requestId;
    expect(errorOf(response)).toEqual({
      errorType: 'Sandbox.Timedout',
      errorMessage: `RequestId: ${requestId} Error: Task timed out after 0.50 seconds`,
    });
    expect(Buffer.from(response.LogResult ?? '', 'base64').toString()).toContain(
      `${requestId} Task timed out after 0.50 seconds`,
    );

    // The handler would write the marker 1 s after it started; wait well past that.
    await sleep(1_500);
    expect(fs.existsSync(markerPath)).toBe(false);
  });

  it('runs the next invocation after a timeout in a new environment', async () => {
    const markerPath = path.join(markers.path, 'after-recovery');
    const response = await client.send(
      new InvokeCommand({
        FunctionName: 'sleep-short-timeout',
        Payload: payload({ sleepMs: 10, markerPath }),
      }),
    );

    expect(response.FunctionError).toBeUndefined();
    expect(fs.existsSync(markerPath)).toBe(true);
  });

  it('reports process.exit as Runtime.ExitError and recovers', async () => {
    const crashed = await client.send(
      new InvokeCommand({ FunctionName: 'exit', Payload: payload({ exitCode: 3 }) }),
    );
    const recovered = await client.send(new InvokeCommand({ FunctionName: 'exit' }));

    expect(crashed.FunctionError).toBe('Unhandled');
    expect(errorOf(crashed)).toEqual({
      errorType: 'Runtime.ExitError',
      errorMessage: `RequestId: ${crashed.$metadata.requestId} Error: Runtime exited with error: exit status 3`,
    });
    expect(recovered.FunctionError).toBeUndefined();
    expect(resultOf(recovered)).toBe('ok');
  });

  it('reports an uncaught error as Runtime.ExitError and recovers', async () => {
    const crashed = await client.send(
      new InvokeCommand({
        FunctionName: 'crash',
        LogType: 'Tail',
        Payload: payload({ crash: true }),
      }),
    );
    const recovered = await client.send(new InvokeCommand({ FunctionName: 'crash' }));

    expect(crashed.FunctionError).toBe('Unhandled');
    expect(errorOf(crashed).errorType).toBe('Runtime.ExitError');
    expect(Buffer.from(crashed.LogResult ?? '', 'base64').toString()).toContain(
      'uncaught in a timer',
    );
    expect(resultOf(recovered)).toBe('ok');
  });

  it('accepts a result at the 6 MB response limit', async () => {
    const response = await client.send(
      new InvokeCommand({ FunctionName: 'sized', Payload: payload({ length: 6_291_556 - 2 }) }),
    );

    expect(response.FunctionError).toBeUndefined();
    expect(response.Payload?.length).toBe(6_291_556);
  });

  it('replaces a result over 6 MB with Function.ResponseSizeTooLarge', async () => {
    const response = await client.send(
      new InvokeCommand({ FunctionName: 'sized', Payload: payload({ length: 6_291_556 }) }),
    );

    expect(response.StatusCode).toBe(200);
    expect(response.FunctionError).toBe('Unhandled');
    expect(errorOf(response)).toEqual({
      errorType: 'Function.ResponseSizeTooLarge',
      errorMessage:
        'Response payload size (6291558 bytes) exceeded maximum allowed payload size (6291556 bytes).',
    });
  });

  it('reports a result JSON cannot represent', async () => {
    const response = await client.send(new InvokeCommand({ FunctionName: 'circular' }));

    expect(response.FunctionError).toBe('Unhandled');
    expect(errorOf(response).errorMessage).toBe('Unable to stringify response body');
  });

  it('reports an error thrown while the module loads and retries the load', async () => {
    const first = await client.send(new InvokeCommand({ FunctionName: 'init-failure' }));
    const second = await client.send(new InvokeCommand({ FunctionName: 'init-failure' }));

    for (const response of [first, second]) {
      expect(response.FunctionError).toBe('Unhandled');
      expect(errorOf(response)).toMatchObject({
        errorType: 'Error',
        errorMessage: 'top-level code failed',
      });
    }
    expect(host.invocationCount('init-failure')).toBe(2);
  });

  it('reports a missing handler export as Runtime.HandlerNotFound', async () => {
    const response = await client.send(new InvokeCommand({ FunctionName: 'missing-export' }));

    expect(response.FunctionError).toBe('Unhandled');
    expect(errorOf(response)).toMatchObject({
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: 'results.notThere is undefined or not exported',
    });
  });
});
