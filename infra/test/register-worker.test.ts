import net from 'node:net';
import {
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import { loadApiConfig, startApiServer, type ApiServer } from '@bullpen/api';
import { silentLogger } from '@bullpen/core';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { WorkerRegistrationError } from '../src/register-worker/errors';
import {
  createWorkerRegistrationHandler,
  type SecretsClient,
  type WorkerRegistrationEvent,
} from '../src/register-worker/register';
import { cleanupPrefix, testRedisUrl, uniquePrefix, uniqueQueue } from '../../test/support/redis';

const TOKEN = 'registration-test-token';
const TOKEN_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:api-token-AbCdEf';
const CSV_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:csv-report';
const STATS_URL = 'https://stats.lambda-url.us-east-1.on.aws/';

/** Stands in for Secrets Manager, which has no local implementation here, and counts reads. */
function fakeSecrets(secretString: string | undefined): SecretsClient & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    send: async (command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput> => {
      reads.push(command.input.SecretId ?? '');
      return { SecretString: secretString, $metadata: {} };
    },
  };
}

function event(
  requestType: 'Create' | 'Update' | 'Delete',
  registration: Record<string, unknown>,
  physicalResourceId?: string,
): WorkerRegistrationEvent {
  const common = {
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:provider',
    ResponseURL: 'https://cloudformation-response.invalid/',
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/Bullpen/1',
    RequestId: `request-${requestType}`,
    LogicalResourceId: 'WorkerRegistration',
    ResourceType: 'Custom::BullpenWorker',
    ResourceProperties: {
      ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:provider',
      Registration: JSON.stringify(registration),
    },
  };
  if (requestType === 'Create') return { ...common, RequestType: 'Create' };
  const physical = { PhysicalResourceId: physicalResourceId ?? String(registration.queue) };
  if (requestType === 'Delete') return { ...common, ...physical, RequestType: 'Delete' };
  return {
    ...common,
    ...physical,
    RequestType: 'Update',
    OldResourceProperties: common.ResourceProperties,
  };
}

async function listWorkers(api: ApiServer): Promise<Record<string, string>> {
  const response = await request(`${api.url}/workers`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  return (await response.body.json()) as Record<string, string>;
}

/** Finds a loopback port with nothing listening by binding and releasing it. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('worker registration handler', () => {
  const prefix = uniquePrefix('infra-register');
  let api: ApiServer;
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(testRedisUrl());
    api = await startApiServer(
      loadApiConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        REDIS_URL: testRedisUrl(),
        AUTH_TOKENS: TOKEN,
        QUEUE_PREFIX: prefix,
        // The host is allowed by name, so the API resolves nothing outside this machine.
        ENDPOINT_ALLOWLIST: 'stats.lambda-url.us-east-1.on.aws',
        LOG_LEVEL: 'silent',
      }),
      { logger: silentLogger() },
    );
  });

  afterAll(async () => {
    await api.close();
    await cleanupPrefix(redis, prefix);
    redis.disconnect();
  });

  function handlerWith(secrets: SecretsClient, apiUrl = api.url) {
    return createWorkerRegistrationHandler({
      apiUrl,
      tokenSecretId: TOKEN_SECRET_ARN,
      secrets,
      logger: silentLogger(),
      attempts: 2,
      retryDelayMs: 10,
    });
  }

  test('create registers the worker', async () => {
    const queue = uniqueQueue('create');
    const secrets = fakeSecrets(TOKEN);
    const handle = handlerWith(secrets);

    const result = await handle(
      event('Create', { queue, endpoint: { type: 'lambda', functionName: CSV_ARN } }),
    );

    expect(result).toEqual({ PhysicalResourceId: queue, Data: { Queue: queue } });
    expect((await listWorkers(api))[queue]).toBe(CSV_ARN);
    expect(secrets.reads).toEqual([TOKEN_SECRET_ARN]);
  });

  test('update replaces the endpoint', async () => {
    const queue = uniqueQueue('update');
    const handle = handlerWith(fakeSecrets(TOKEN));
    await handle(event('Create', { queue, endpoint: { type: 'lambda', functionName: CSV_ARN } }));

    const result = await handle(
      event('Update', {
        queue,
        endpoint: { url: STATS_URL, auth: { type: 'aws-iam' } },
        opts: { concurrency: 3 },
      }),
    );

    expect(result.PhysicalResourceId).toBe(queue);
    expect((await listWorkers(api))[queue]).toBe(STATS_URL);
  });

  test('delete removes the worker', async () => {
    const queue = uniqueQueue('delete');
    const handle = handlerWith(fakeSecrets(TOKEN));
    const registration = { queue, endpoint: { type: 'lambda', functionName: CSV_ARN } };
    await handle(event('Create', registration));

    await handle(event('Delete', registration));

    expect(Object.keys(await listWorkers(api))).not.toContain(queue);
  });

  test('delete of an unregistered queue succeeds', async () => {
    const queue = uniqueQueue('never-registered');
    const handle = handlerWith(fakeSecrets(TOKEN));

    const result = await handle(
      event('Delete', { queue, endpoint: { type: 'lambda', functionName: CSV_ARN } }),
    );

    expect(result.PhysicalResourceId).toBe(queue);
  });

  test('reads the token once per execution environment', async () => {
    const secrets = fakeSecrets(TOKEN);
    const handle = handlerWith(secrets);
    for (const label of ['first', 'second']) {
      const queue = uniqueQueue(label);
      await handle(event('Create', { queue, endpoint: { type: 'lambda', functionName: CSV_ARN } }));
    }

    expect(secrets.reads).toHaveLength(1);
  });

  test('invalid registration fails naming the field', async () => {
    const queue = uniqueQueue('invalid');
    const handle = handlerWith(fakeSecrets(TOKEN));

    const failure = handle(
      event('Create', {
        queue,
        endpoint: { type: 'lambda', functionName: CSV_ARN },
        opts: { concurrency: 0 },
      }),
    );

    await expect(failure).rejects.toThrow(WorkerRegistrationError);
    await expect(failure).rejects.toThrow(/HTTP 400: .*opts\.concurrency/);
    expect(Object.keys(await listWorkers(api))).not.toContain(queue);
  });

  test('wrong token fails with 401', async () => {
    const secrets = fakeSecrets('not-the-token');
    const handle = handlerWith(secrets);
    const registration = {
      queue: uniqueQueue('unauthorized'),
      endpoint: { type: 'lambda', functionName: CSV_ARN },
    };

    await expect(handle(event('Create', registration))).rejects.toMatchObject({
      name: 'WorkerRegistrationError',
      status: 401,
      message: expect.stringContaining("one of the API's AUTH_TOKENS"),
    });
    await expect(handle(event('Create', registration))).rejects.toMatchObject({ status: 401 });
    // A 401 drops the cached token, so the next invocation reads the secret again.
    expect(secrets.reads).toHaveLength(2);
  });

  test('empty secret fails before calling the API', async () => {
    const handle = handlerWith(fakeSecrets(''));

    await expect(
      handle(
        event('Create', {
          queue: uniqueQueue('no-token'),
          endpoint: { type: 'lambda', functionName: CSV_ARN },
        }),
      ),
    ).rejects.toThrow(`Secret ${TOKEN_SECRET_ARN} has no SecretString`);
  });

  test('unreachable API fails after the configured attempts', async () => {
    const handle = handlerWith(fakeSecrets(TOKEN), `http://127.0.0.1:${await closedPort()}`);

    await expect(
      handle(
        event('Create', {
          queue: uniqueQueue('unreachable'),
          endpoint: { type: 'lambda', functionName: CSV_ARN },
        }),
      ),
    ).rejects.toThrow(/got no response after 2 attempts/);
  });

  test('registration without a queue fails', async () => {
    const handle = handlerWith(fakeSecrets(TOKEN));

    await expect(
      handle(event('Create', { endpoint: { type: 'lambda', functionName: CSV_ARN } })),
    ).rejects.toThrow('The Registration property has no "queue" string');
  });
});
