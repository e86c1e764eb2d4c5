import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  LambdaClient,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import { loadApiConfig, startApiServer, type ApiServer } from '@bullpen/api';
import { silentLogger } from '@bullpen/core';
import { loadDispatcherConfig, startDispatcher, type Dispatcher } from '@bullpen/dispatcher';
import { build } from 'esbuild';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { cleanupPrefix, testRedisUrl, uniquePrefix, uniqueQueue } from '../support/redis';
import { dockerCompose, dockerUnavailableReason } from './docker';
import { createZip, type ZipEntry } from './zip';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const COMPOSE_FILE = path.join(REPO_ROOT, 'docker-compose.localstack.yml');
const LOCALSTACK_URL = 'http://127.0.0.1:4566';
const REGION = 'us-east-1';
const TOKEN = 'localstack-suite-token';
/** LocalStack accepts any role ARN of its default account. */
const FUNCTION_ROLE = 'arn:aws:iam::000000000000:role/bullpen-localstack';
/** The first invoke pulls LocalStack's Node.js runtime image, which can take minutes. */
const JOB_TIMEOUT_MS = 180_000;

// NOTE: this suite runs only where a Docker engine is available. The machines this project's
// CI uses have none, so its calls against a live LocalStack are unverified.
const skipReason = dockerUnavailableReason();
const describeWithDocker = skipReason === undefined ? describe : describe.skip;

if (skipReason !== undefined) {
  // Jest lists no titles for a file whose tests are all skipped, so print the reason to stderr.
  process.stderr.write(`LocalStack suite skipped: ${skipReason}\n`);
  test.skip(`LocalStack suite skipped: ${skipReason}`, () => undefined);
}

interface JobJson {
  readonly id: string;
  readonly state?: string;
  readonly progress: unknown;
  readonly returnvalue: unknown;
  readonly failedReason?: string;
  readonly attemptsMade: number;
}

async function localStackLambdaReady(): Promise<boolean> {
  try {
    const response = await request(`${LOCALSTACK_URL}/_localstack/health`, {
      headersTimeout: 2_000,
      bodyTimeout: 2_000,
    });
    const health = (await response.body.json()) as { services?: Record<string, string> };
    return ['available', 'running'].includes(health.services?.lambda ?? '');
  } catch {
    return false;
  }
}

async function waitFor(
  description: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}`);
}

/**
 * Bundles a job function with esbuild, as the CDK app does, zips it with its data folder and
 * creates it in LocalStack. Returns the function ARN.
 */
async function deployFunction(lambda: LambdaClient, name: string, serviceDir: string) {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bullpen-localstack-'));
  await build({
    entryPoints: [path.join(REPO_ROOT, serviceDir, 'src', 'handler.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: path.join(outDir, 'index.js'),
    external: ['@aws-sdk/*'],
    logLevel: 'silent',
  });
  const dataDir = path.join(REPO_ROOT, serviceDir, 'data');
  const entries: ZipEntry[] = [
    { name: 'index.js', data: fs.readFileSync(path.join(outDir, 'index.js')) },
    ...fs.readdirSync(dataDir).map((file) => ({
      name: `data/${file}`,
      data: fs.readFileSync(path.join(dataDir, file)),
    })),
  ];

  const created = await lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'nodejs20.x',
      Role: FUNCTION_ROLE,
      Handler: 'index.handler',
      Code: { ZipFile: createZip(entries) },
      Timeout: 60,
      MemorySize: 256,
    }),
  );
  await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 180 }, { FunctionName: name });
  return created.FunctionArn as string;
}

describeWithDocker('dispatcher against LocalStack Lambda', () => {
  const prefix = uniquePrefix('localstack');
  const lambda = new LambdaClient({
    endpoint: LOCALSTACK_URL,
    region: REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  const functionNames: string[] = [];
  let startedLocalStack = false;
  let redis: Redis;
  let api: ApiServer;
  let dispatcher: Dispatcher;
  let csvReportArn: string;
  let textStatsArn: string;

  beforeAll(async () => {
    if (!(await localStackLambdaReady())) {
      dockerCompose(COMPOSE_FILE, ['up', '-d', '--wait', 'localstack'], 240_000);
      startedLocalStack = true;
    }
    await waitFor('LocalStack Lambda', localStackLambdaReady, 120_000);

    const suffix = prefix.slice(-8);
    functionNames.push(`bullpen-csv-report-${suffix}`, `bullpen-text-stats-${suffix}`);
    csvReportArn = await deployFunction(lambda, functionNames[0]!, 'services/fn-csv-report');
    textStatsArn = await deployFunction(lambda, functionNames[1]!, 'services/fn-text-stats');

    redis = new Redis(testRedisUrl());
    api = await startApiServer(
      loadApiConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        REDIS_URL: testRedisUrl(),
        AUTH_TOKENS: TOKEN,
        QUEUE_PREFIX: prefix,
        LOG_LEVEL: 'silent',
      }),
      { logger: silentLogger() },
    );
    dispatcher = await startDispatcher(
      loadDispatcherConfig({
        REDIS_URL: testRedisUrl(),
        QUEUE_PREFIX: prefix,
        // The functions run in LocalStack containers on the host network, so they reach
        // the API's loopback address for progress and log callbacks.
        PUBLIC_API_URL: api.url,
        LOG_LEVEL: 'silent',
        METRICS_PORT: '0',
        METRICS_HOST: '127.0.0.1',
        SHUTDOWN_GRACE_MS: '5000',
        AWS_REGION: REGION,
        AWS_ENDPOINT_URL_LAMBDA: LOCALSTACK_URL,
      }),
      { awsCredentials: { accessKeyId: 'test', secretAccessKey: 'test' }, logger: silentLogger() },
    );
  }, 600_000);

  afterAll(async () => {
    await dispatcher?.close();
    await api?.close();
    for (const name of functionNames) {
      await lambda.send(new DeleteFunctionCommand({ FunctionName: name })).catch(() => undefined);
    }
    lambda.destroy();
    if (redis) {
      await cleanupPrefix(redis, prefix);
      redis.disconnect();
    }
    if (startedLocalStack) dockerCompose(COMPOSE_FILE, ['down'], 120_000);
  }, 180_000);

  async function callApi(method: string, route: string, body?: unknown) {
    const response = await request(`${api.url}${route}`, {
      method: method as 'GET' | 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.statusCode, body: (await response.body.json()) as unknown };
  }

  async function runJob(queue: string, functionArn: string, job: Record<string, unknown>) {
    const registered = await callApi('POST', '/workers', {
      queue,
      endpoint: { type: 'lambda', functionName: functionArn },
    });
    expect(registered.status).toBe(200);

    const added = await callApi('POST', `/queues/${queue}/jobs`, [job]);
    expect(added.status).toBe(200);
    const jobId = (added.body as JobJson[])[0]!.id;

    let finished: JobJson | undefined;
    await waitFor(
      `job ${jobId} of ${queue} to finish`,
      async () => {
        const read = await callApi('GET', `/queues/${queue}/jobs/${jobId}`);
        const current = read.body as JobJson;
        if (current.state === 'completed' || current.state === 'failed') finished = current;
        return finished !== undefined;
      },
      JOB_TIMEOUT_MS,
    );
    return finished as JobJson;
  }

  test(
    'csv report job completes through the Invoke API',
    async () => {
      const job = await runJob(uniqueQueue('csv-report'), csvReportArn, {
        name: 'weather',
        data: { file: 'city-weather-monthly.csv', groupBy: 'country', columns: ['mean_temp_c'] },
      });

      expect(job.state).toBe('completed');
      expect(job.progress).toBe(100);
      expect(job.returnvalue).toMatchObject({
        file: 'city-weather-monthly.csv',
        groupBy: ['country'],
      });
      expect((job.returnvalue as { rowsRead: number }).rowsRead).toBeGreaterThan(0);
    },
    JOB_TIMEOUT_MS + 30_000,
  );

  test(
    'unknown file fails without further attempts',
    async () => {
      const job = await runJob(uniqueQueue('csv-missing'), csvReportArn, {
        name: 'missing',
        data: { file: 'no-such-file.csv', columns: ['mean_temp_c'] },
        opts: { attempts: 3 },
      });

      expect(job.state).toBe('failed');
      expect(job.attemptsMade).toBe(1);
      expect(job.failedReason).toContain('Unknown file "no-such-file.csv"');
    },
    JOB_TIMEOUT_MS + 30_000,
  );

  test(
    'text stats job completes through the Invoke API',
    async () => {
      const job = await runJob(uniqueQueue('text-stats'), textStatsArn, {
        name: 'tides',
        data: { file: 'how-tides-work.txt' },
      });

      expect(job.state).toBe('completed');
      expect((job.returnvalue as { words: number }).words).toBeGreaterThan(0);
    },
    JOB_TIMEOUT_MS + 30_000,
  );
});
