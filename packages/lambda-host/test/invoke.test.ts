import {
  GetFunctionConfigurationCommand,
  InvalidRequestContentException,
  InvokeCommand,
  type LambdaClient,
  RequestTooLargeException,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { startLambdaHost, type LambdaHost } from '../src';
import { fixture, lambdaClient, payload, resultOf } from './helpers';

const ARN_PREFIX = 'arn:aws:lambda:us-east-1:000000000000:function:';

describe('Invoke', () => {
  let host: LambdaHost;
  let client: LambdaClient;

  beforeAll(async () => {
    host = await startLambdaHost({
      functions: [
        {
          name: 'echo',
          handlerModule: fixture('results.ts'),
          handlerExport: 'echo',
          environment: { GREETING: 'hello from the definition' },
          aliases: ['live'],
          memorySizeMb: 256,
        },
        { name: 'plain-text', handlerModule: fixture('results.ts'), handlerExport: 'plainText' },
        { name: 'nothing', handlerModule: fixture('results.ts'), handlerExport: 'nothing' },
        { name: 'callback', handlerModule: fixture('results.ts'), handlerExport: 'withCallback' },
        {
          name: 'event-length',
          handlerModule: fixture('results.ts'),
          handlerExport: 'eventLength',
        },
        { name: 'log-lines', handlerModule: fixture('results.ts'), handlerExport: 'logLines' },
        {
          name: 'counter',
          handlerModule: fixture('results.ts'),
          handlerExport: 'countInvocations',
        },
      ],
    });
    client = lambdaClient(host);
  });

  afterAll(async () => {
    client.destroy();
    await host.close();
  });

  it('returns a JSON result with the executed version', async () => {
    const response = await client.send(
      new InvokeCommand({ FunctionName: 'echo', Payload: payload({ job: { id: '7' } }) }),
    );

    expect(response.StatusCode).toBe(200);
    expect(response.FunctionError).toBeUndefined();
    expect(response.ExecutedVersion).toBe('$LATEST');
    const result = resultOf(response) as { event: unknown; environment: Record<string, string> };
    expect(result.event).toEqual({ job: { id: '7' } });
    expect(result.environment).toEqual({
      GREETING: 'hello from the definition',
      AWS_REGION: 'us-east-1',
      AWS_LAMBDA_FUNCTION_NAME: 'echo',
    });
  });

  it('passes the Lambda context to the handler', async () => {
    const response = await client.send(new InvokeCommand({ FunctionName: 'echo' }));

    const { context } = resultOf(response) as { context: Record<string, unknown> };
    expect(context.awsRequestId).toBe(response.$metadata.requestId);
    expect(context.functionName).toBe('echo');
    expect(context.functionVersion).toBe('$LATEST');
    expect(context.invokedFunctionArn).toBe(`${ARN_PREFIX}echo`);
    expect(context.memoryLimitInMB).toBe('256');
    expect(context.logGroupName).toBe('/aws/lambda/echo');
    expect(context.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(context.callbackWaitsForEmptyEventLoop).toBe(true);
    expect(context.remainingTimeMs).toBeGreaterThan(0);
    expect(context.remainingTimeMs).toBeLessThanOrEqual(3_000);
  });

  it('passes an empty payload as an empty object', async () => {
    const response = await client.send(new InvokeCommand({ FunctionName: 'echo' }));

    expect((resultOf(response) as { event: unknown }).event).toEqual({});
  });

  it('decodes the client context into the handler context', async () => {
    const clientContext = Buffer.from(JSON.stringify({ custom: { tenant: 'a' } })).toString(
      'base64',
    );
    const response = await client.send(
      new InvokeCommand({ FunctionName: 'echo', ClientContext: clientContext }),
    );

    const { context } = resultOf(response) as { context: Record<string, unknown> };
    expect(context.clientContext).toEqual({ custom: { tenant: 'a' } });
  });

  it('returns a string result as a JSON string', async () => {
    const response = await client.send(new InvokeCommand({ FunctionName: 'plain-text' }));

    expect(response.StatusCode).toBe(200);
    expect(Buffer.from(response.Payload ?? []).toString()).toBe('"plain text result"');
  });

  it('returns null for an undefined result', async () => {
    const response = await client.send(new InvokeCommand({ FunctionName: 'nothing' }));

    expect(response.FunctionError).toBeUndefined();
    expect(Buffer.from(response.Payload ?? []).toString()).toBe('null');
  });

  it('supports callback-style handlers', async () => {
    const response = await client.send(
      new InvokeCommand({ FunctionName: 'callback', Payload: payload({ value: 21 }) }),
    );

    expect(resultOf(response)).toEqual({ doubled: 42 });
  });

  it('keeps an environment warm between invocations', async () => {
    const first = await client.send(new InvokeCommand({ FunctionName: 'counter' }));
    const second = await client.send(new InvokeCommand({ FunctionName: 'counter' }));

    expect(resultOf(first)).toBe(1);
    expect(resultOf(second)).toBe(2);
    expect(host.invocationCount('counter')).toBe(2);
  });

  it.each([
    ['a full ARN', `${ARN_PREFIX}echo`, undefined, '$LATEST', `${ARN_PREFIX}echo`],
    ['a partial ARN', '000000000000:function:echo', undefined, '$LATEST', `${ARN_PREFIX}echo`],
    ['name:alias', 'echo:live', undefined, '1', `${ARN_PREFIX}echo:live`],
    ['name:version', 'echo:1', undefined, '1', `${ARN_PREFIX}echo:1`],
    [
      'a qualified ARN',
      `${ARN_PREFIX}echo:$LATEST`,
      undefined,
      '$LATEST',
      `${ARN_PREFIX}echo:$LATEST`,
    ],
    ['the Qualifier parameter', 'echo', 'live', '1', `${ARN_PREFIX}echo:live`],
  ])('accepts %s', async (_form, functionName, qualifier, version, invokedArn) => {
    const response = await client.send(
      new InvokeCommand({ FunctionName: functionName, Qualifier: qualifier }),
    );

    expect(response.ExecutedVersion).toBe(version);
    const { context } = resultOf(response) as { context: Record<string, unknown> };
    expect(context.functionVersion).toBe(version);
    expect(context.invokedFunctionArn).toBe(invokedArn);
  });

  it('rejects an unknown function with ResourceNotFoundException', async () => {
    const error = await client.send(new InvokeCommand({ FunctionName: 'missing' })).catch((e) => e);

    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(error.$metadata.httpStatusCode).toBe(404);
    expect(error.message).toBe(`Function not found: ${ARN_PREFIX}missing`);
    expect(error.Type).toBe('User');
  });

  it('rejects an unknown qualifier with ResourceNotFoundException', async () => {
    const error = await client
      .send(new InvokeCommand({ FunctionName: 'echo', Qualifier: 'canary' }))
      .catch((e) => e);

    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(error.message).toBe(`Function not found: ${ARN_PREFIX}echo:canary`);
  });

  it('rejects an ARN of another account', async () => {
    const error = await client
      .send(
        new InvokeCommand({ FunctionName: 'arn:aws:lambda:us-east-1:111111111111:function:echo' }),
      )
      .catch((e) => e);

    expect(error).toBeInstanceOf(ResourceNotFoundException);
  });

  it('rejects a qualifier that contradicts the name', async () => {
    const error = await client
      .send(new InvokeCommand({ FunctionName: 'echo:live', Qualifier: '1' }))
      .catch((e) => e);

    expect(error.name).toBe('InvalidParameterValueException');
    expect(error.$metadata.httpStatusCode).toBe(400);
  });

  it('rejects a payload that is not JSON', async () => {
    const countBefore = host.invocationCount('echo');
    const error = await client
      .send(new InvokeCommand({ FunctionName: 'echo', Payload: Buffer.from('{"unterminated": ') }))
      .catch((e) => e);

    expect(error).toBeInstanceOf(InvalidRequestContentException);
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toMatch(/^Could not parse request body into json: /);
    expect(host.invocationCount('echo')).toBe(countBefore);
  });

  it('accepts a payload of exactly 6 MB', async () => {
    const text = 'a'.repeat(6_291_456 - 2);
    const response = await client.send(
      new InvokeCommand({ FunctionName: 'event-length', Payload: payload(text) }),
    );

    expect(response.FunctionError).toBeUndefined();
    expect(resultOf(response)).toBe(text.length);
  });

  it('rejects a payload over 6 MB with RequestTooLargeException', async () => {
    const countBefore = host.invocationCount('event-length');
    const error = await client
      .send(
        new InvokeCommand({
          FunctionName: 'event-length',
          Payload: payload('a'.repeat(6_291_456 - 1)),
        }),
      )
      .catch((e) => e);

    expect(error).toBeInstanceOf(RequestTooLargeException);
    expect(error.$metadata.httpStatusCode).toBe(413);
    expect(host.invocationCount('event-length')).toBe(countBefore);
  });

  it('returns the last 4 KB of the log with LogType Tail', async () => {
    const response = await client.send(
      new InvokeCommand({
        FunctionName: 'log-lines',
        LogType: 'Tail',
        Payload: payload({ lines: 500 }),
      }),
    );

    const tail = Buffer.from(response.LogResult ?? '', 'base64');
    expect(tail.length).toBeLessThanOrEqual(4096);
    expect(tail.length).toBeGreaterThan(3000);
    const text = tail.toString('utf8');
    expect(text).toContain(`${response.$metadata.requestId}\tINFO\tlog line 500\n`);
    expect(text).not.toContain('log line 1\n');
    expect(text).toContain(`END RequestId: ${response.$metadata.requestId}`);
    expect(text).toMatch(/REPORT RequestId: \S+\tDuration: [\d.]+ ms/);
  });

  it('omits the log without LogType Tail', async () => {
    const response = await client.send(
      new InvokeCommand({ FunctionName: 'log-lines', Payload: payload({ lines: 1 }) }),
    );

    expect(response.LogResult).toBeUndefined();
  });

  it('answers DryRun with 204 without running the handler', async () => {
    const countBefore = host.invocationCount('counter');
    const response = await client.send(
      new InvokeCommand({ FunctionName: 'counter', InvocationType: 'DryRun' }),
    );

    expect(response.StatusCode).toBe(204);
    expect(host.invocationCount('counter')).toBe(countBefore);
  });

  it('rejects DryRun of an unknown function', async () => {
    const error = await client
      .send(new InvokeCommand({ FunctionName: 'missing', InvocationType: 'DryRun' }))
      .catch((e) => e);

    expect(error).toBeInstanceOf(ResourceNotFoundException);
  });
});

describe('GetFunctionConfiguration', () => {
  let host: LambdaHost;
  let client: LambdaClient;

  beforeAll(async () => {
    host = await startLambdaHost({
      functions: [
        {
          name: 'configured',
          handlerModule: fixture('results.ts'),
          handlerExport: 'echo',
          timeoutMs: 7_000,
          memorySizeMb: 512,
          environment: { STAGE: 'test' },
          aliases: ['live'],
        },
        {
          name: 'short',
          handlerModule: fixture('results.ts'),
          handlerExport: 'echo',
          timeoutMs: 1_500,
        },
      ],
    });
    client = lambdaClient(host);
  });

  afterAll(async () => {
    client.destroy();
    await host.close();
  });

  it('returns the configured timeout in seconds and the settings', async () => {
    const configuration = await client.send(
      new GetFunctionConfigurationCommand({ FunctionName: 'configured' }),
    );

    expect(configuration.Timeout).toBe(7);
    expect(configuration.MemorySize).toBe(512);
    expect(configuration.FunctionName).toBe('configured');
    expect(configuration.FunctionArn).toBe(`${ARN_PREFIX}configured`);
    expect(configuration.Runtime).toBe('nodejs20.x');
    expect(configuration.Handler).toBe('results.echo');
    expect(configuration.Version).toBe('$LATEST');
    expect(configuration.State).toBe('Active');
    expect(configuration.LastUpdateStatus).toBe('Successful');
    expect(configuration.Environment?.Variables).toEqual({ STAGE: 'test' });
    expect(configuration.Architectures).toHaveLength(1);
    expect(host.invocationCount('configured')).toBe(0);
  });

  it('rounds a timeout below whole seconds up', async () => {
    const configuration = await client.send(
      new GetFunctionConfigurationCommand({ FunctionName: 'short' }),
    );

    expect(configuration.Timeout).toBe(2);
  });

  it('describes the version an alias points at', async () => {
    const configuration = await client.send(
      new GetFunctionConfigurationCommand({ FunctionName: 'configured', Qualifier: 'live' }),
    );

    expect(configuration.Version).toBe('1');
    expect(configuration.FunctionArn).toBe(`${ARN_PREFIX}configured:live`);
  });

  it('rejects an unknown function', async () => {
    const error = await client
      .send(new GetFunctionConfigurationCommand({ FunctionName: 'missing' }))
      .catch((e) => e);

    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(error.message).toBe(`Function not found: ${ARN_PREFIX}missing`);
  });
});
