import fs from 'node:fs';
import path from 'node:path';
import {
  InvokeCommand,
  type InvokeCommandOutput,
  type LambdaClient,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { startLambdaHost, type LambdaHost } from '../src';
import { fixture, lambdaClient, payload, resultOf, temporaryDirectory, waitFor } from './helpers';

describe('concurrency', () => {
  let host: LambdaHost;
  let client: LambdaClient;
  let markers: { path: string; remove: () => void };

  beforeAll(async () => {
    markers = temporaryDirectory();
    host = await startLambdaHost({
      functions: [
        {
          name: 'reserved-one',
          handlerModule: fixture('coordination.ts'),
          handlerExport: 'waitForRelease',
          reservedConcurrency: 1,
        },
        {
          name: 'unlimited',
          handlerModule: fixture('coordination.ts'),
          handlerExport: 'waitForRelease',
        },
        {
          name: 'reserved-zero',
          handlerModule: fixture('coordination.ts'),
          handlerExport: 'record',
          reservedConcurrency: 0,
        },
        { name: 'record', handlerModule: fixture('coordination.ts'), handlerExport: 'record' },
      ],
    });
    client = lambdaClient(host);
  });

  afterAll(async () => {
    client.destroy();
    await host.close();
    markers.remove();
  });

  function holdEvent(label: string): { startedPath: string; releasePath: string } {
    return {
      startedPath: path.join(markers.path, `${label}-started`),
      releasePath: path.join(markers.path, `${label}-release`),
    };
  }

  it('throttles invocations past the reserved concurrency with retryAfterSeconds', async () => {
    const blocker = holdEvent('reserved-first');
    const first = client.send(
      new InvokeCommand({ FunctionName: 'reserved-one', Payload: payload(blocker) }),
    );
    await waitFor('the first invocation to start', () => fs.existsSync(blocker.startedPath));

    const error = await client
      .send(
        new InvokeCommand({ FunctionName: 'reserved-one', Payload: payload(holdEvent('second')) }),
      )
      .catch((e) => e);
    fs.writeFileSync(blocker.releasePath, '');
    const firstResponse = await first;

    expect(error).toBeInstanceOf(TooManyRequestsException);
    expect(error.$metadata.httpStatusCode).toBe(429);
    expect(error.Reason).toBe('ReservedFunctionConcurrentInvocationLimitExceeded');
    expect(error.retryAfterSeconds).toBe('1');
    expect(resultOf(firstResponse)).toBe('released');
    expect(host.invocationCount('reserved-one')).toBe(1);
  });

  it('takes invocations again once the reserved environment is free', async () => {
    const blocker = holdEvent('reserved-again');
    fs.writeFileSync(blocker.releasePath, '');
    const response = await client.send(
      new InvokeCommand({ FunctionName: 'reserved-one', Payload: payload(blocker) }),
    );

    expect(response.FunctionError).toBeUndefined();
    expect(resultOf(response)).toBe('released');
  });

  it('runs concurrent invocations in separate environments without a reservation', async () => {
    const blockerEvents = [holdEvent('parallel-a'), holdEvent('parallel-b')];
    const responses: Array<Promise<InvokeCommandOutput>> = blockerEvents.map((blocker) =>
      client.send(new InvokeCommand({ FunctionName: 'unlimited', Payload: payload(blocker) })),
    );
    await waitFor('both invocations to start', () =>
      blockerEvents.every((blocker) => fs.existsSync(blocker.startedPath)),
    );
    for (const blocker of blockerEvents) fs.writeFileSync(blocker.releasePath, '');

    for (const response of await Promise.all(responses)) {
      expect(resultOf(response)).toBe('released');
    }
  });

  it('throttles every synchronous invocation at reserved concurrency zero', async () => {
    const error = await client
      .send(
        new InvokeCommand({
          FunctionName: 'reserved-zero',
          Payload: payload({ markerPath: path.join(markers.path, 'zero') }),
        }),
      )
      .catch((e) => e);

    expect(error).toBeInstanceOf(TooManyRequestsException);
    expect(host.invocationCount('reserved-zero')).toBe(0);
  });

  it('runs an Event invocation in the background after answering 202', async () => {
    const markerPath = path.join(markers.path, 'event');
    const response = await client.send(
      new InvokeCommand({
        FunctionName: 'record',
        InvocationType: 'Event',
        Payload: payload({ markerPath }),
      }),
    );

    expect(response.StatusCode).toBe(202);
    expect(response.FunctionError).toBeUndefined();
    await waitFor('the Event invocation to write its marker', () => fs.existsSync(markerPath));
    expect(host.invocationCount('record')).toBe(1);
  });

  it('queues an Event invocation past the reserved concurrency instead of throttling it', async () => {
    const blocker = holdEvent('event-holder');
    const holder = client.send(
      new InvokeCommand({ FunctionName: 'reserved-one', Payload: payload(blocker) }),
    );
    await waitFor('the holding invocation to start', () => fs.existsSync(blocker.startedPath));

    const countWhileHeld = host.invocationCount('reserved-one');
    const queued = holdEvent('event-queued');
    fs.writeFileSync(queued.releasePath, '');
    const response = await client.send(
      new InvokeCommand({
        FunctionName: 'reserved-one',
        InvocationType: 'Event',
        Payload: payload(queued),
      }),
    );
    // An invocation is counted when it takes an environment, which it cannot while blocker.
    const countAfterAccepted = host.invocationCount('reserved-one');
    fs.writeFileSync(blocker.releasePath, '');
    await holder;

    expect(response.StatusCode).toBe(202);
    expect(countAfterAccepted).toBe(countWhileHeld);
    await waitFor('the queued Event invocation to start', () => fs.existsSync(queued.startedPath));
  });
});
