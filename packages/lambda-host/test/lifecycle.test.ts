import fs from 'node:fs';
import path from 'node:path';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import {
  InvalidFunctionDefinitionError,
  LambdaHostError,
  startLambdaHost,
  type LocalFunctionDefinition,
} from '../src';
import { fixture, lambdaClient, payload, sleep, temporaryDirectory, waitFor } from './helpers';

describe('LambdaHost lifecycle', () => {
  let markers: { path: string; remove: () => void };

  beforeEach(() => {
    markers = temporaryDirectory();
  });

  afterEach(() => {
    markers.remove();
  });

  it('close terminates warm and busy environments', async () => {
    const host = await startLambdaHost({
      functions: [
        {
          name: 'ticker',
          handlerModule: fixture('coordination.ts'),
          handlerExport: 'startTicking',
        },
        {
          name: 'holder',
          handlerModule: fixture('coordination.ts'),
          handlerExport: 'waitForRelease',
        },
      ],
    });
    const client = lambdaClient(host);
    const tickPath = path.join(markers.path, 'ticks');
    const blocker = {
      startedPath: path.join(markers.path, 'blocker-started'),
      releasePath: path.join(markers.path, 'blocker-release'),
    };

    await client.send(
      new InvokeCommand({ FunctionName: 'ticker', Payload: payload({ tickPath }) }),
    );
    const busy = client
      .send(new InvokeCommand({ FunctionName: 'holder', Payload: payload(blocker) }))
      .catch((error: unknown) => error);
    await waitFor(
      'the ticker to write three times',
      () => fs.existsSync(tickPath) && fs.readFileSync(tickPath, 'utf8').length >= 3,
    );
    await waitFor('the blocker invocation to start', () => fs.existsSync(blocker.startedPath));

    await host.close();
    const ticksAtClose = fs.readFileSync(tickPath, 'utf8').length;
    const busyOutcome = await busy;
    await sleep(300);
    const ticksLater = fs.readFileSync(tickPath, 'utf8').length;
    client.destroy();

    // The ticker's timer writes every 20 ms while its worker lives.
    expect(ticksLater).toBe(ticksAtClose);
    expect(busyOutcome).toBeInstanceOf(Error);
  });

  it('close refuses new connections and can be called twice', async () => {
    const host = await startLambdaHost({
      functions: [
        { name: 'record', handlerModule: fixture('coordination.ts'), handlerExport: 'record' },
      ],
    });
    const client = lambdaClient(host);

    await Promise.all([host.close(), host.close()]);
    const error = await client
      .send(
        new InvokeCommand({
          FunctionName: 'record',
          Payload: payload({ markerPath: path.join(markers.path, 'x') }),
        }),
      )
      .catch((e: unknown) => e);
    client.destroy();

    expect(error).toBeInstanceOf(Error);
    // Under jest the SDK wraps the socket error, so only its message names the cause.
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('invocationCount rejects an unknown function', async () => {
    const host = await startLambdaHost({ functions: [] });
    try {
      expect(() => host.invocationCount('missing')).toThrow(LambdaHostError);
    } finally {
      await host.close();
    }
  });

  it('listens on 127.0.0.1 by default', async () => {
    const host = await startLambdaHost({ functions: [] });
    try {
      expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await host.close();
    }
  });

  const valid: LocalFunctionDefinition = { name: 'valid', handlerModule: fixture('results.ts') };

  it.each<[string, LocalFunctionDefinition[], RegExp]>([
    ['a duplicate name', [valid, valid], /name is defined twice/],
    ['an invalid name', [{ ...valid, name: 'has space' }], /name must be 1 to 64/],
    [
      'a relative module path',
      [{ ...valid, handlerModule: 'results.ts' }],
      /must be an absolute path/,
    ],
    ['a missing module', [{ ...valid, handlerModule: fixture('absent.ts') }], /is not a file/],
    ['a zero timeout', [{ ...valid, timeoutMs: 0 }], /timeoutMs is 0/],
    ['a fractional timeout', [{ ...valid, timeoutMs: 1.5 }], /timeoutMs is 1.5/],
    ['too little memory', [{ ...valid, memorySizeMb: 64 }], /memorySizeMb is 64/],
    [
      'a negative reservation',
      [{ ...valid, reservedConcurrency: -1 }],
      /reservedConcurrency is -1/,
    ],
    ['a numeric alias', [{ ...valid, aliases: ['2'] }], /not only digits/],
    ['an invalid variable name', [{ ...valid, environment: { '1X': 'a' } }], /key "1X"/],
  ])('start rejects %s', async (_case, functions, message) => {
    const started = startLambdaHost({ functions });

    await expect(started).rejects.toThrow(InvalidFunctionDefinitionError);
    await expect(started).rejects.toThrow(message);
  });

  it('start rejects an invalid account id', async () => {
    await expect(startLambdaHost({ functions: [], accountId: '123' })).rejects.toThrow(
      /Invalid accountId "123"/,
    );
  });
});
