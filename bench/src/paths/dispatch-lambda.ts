import http from 'node:http';
import path from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startLambdaHost, type LambdaHost } from '@bullpen/lambda-host';
import { REPO_ROOT } from '../support/child-process';
import type { BenchContext } from '../support/context';
import { compareDispatch } from '../support/dispatch-comparison';
import type { PathReport } from '../support/report';
import {
  DISPATCH_CONCURRENCY,
  DISPATCH_JOB_COUNT,
  DISPATCH_WARMUP_JOB_COUNT,
} from './dispatch-http';

const FUNCTION_NAME = 'bench-noop';
const DRAIN_TIMEOUT_MS = 300_000;
const MINIMUM_RATIO = 0.95;
/** New execution environments started at once while warming up the host. */
const ENVIRONMENTS_PER_WARMUP_STEP = 10;
/** How long each warm-up invocation keeps its environment busy, so the next step needs new ones. */
const WARMUP_SLEEP_MS = 500;
/** Tries per warm-up invocation, the SDK's standard retries included. */
const WARMUP_MAX_ATTEMPTS = 3;
/** No-op invocations after the environments started. */
const WARMUP_INVOCATIONS = 2_000;
/**
 * Untimed drains before the first timed run, by the minimal hand-written worker. Whether the
 * runs still need one, now that the warm-up starts every environment, was not measured.
 */
const WARMUP_DRAINS = 1;

/** Path 2: jobs per second through the Lambda Invoke API, Bullpen against a hand-written worker. */
export async function benchDispatchLambda(context: BenchContext): Promise<PathReport> {
  const host = await startLambdaHost({
    functions: [
      {
        name: FUNCTION_NAME,
        handlerModule: path.join(REPO_ROOT, 'bench/src/fixtures/noop-handler.ts'),
        timeoutMs: 30_000,
      },
    ],
  });
  try {
    await warmUpHost(host, DISPATCH_CONCURRENCY, context);
    const rows = await compareDispatch(context, {
      label: 'lambda',
      endpoint: { type: 'lambda', functionName: FUNCTION_NAME, timeout: 30_000 },
      dispatcherEnv: { AWS_ENDPOINT_URL_LAMBDA: host.url },
      baselineScript: 'bench/src/children/lambda-worker.ts',
      baselineEnv: { LAMBDA_ENDPOINT: host.url, FUNCTION_NAME },
      baselineLabel: 'Worker + LambdaClient',
      concurrency: DISPATCH_CONCURRENCY,
      minimumRatio: MINIMUM_RATIO,
      warmupDrains: WARMUP_DRAINS,
      drain: {
        jobCount: DISPATCH_JOB_COUNT,
        warmupJobCount: DISPATCH_WARMUP_JOB_COUNT,
        timeoutMs: DRAIN_TIMEOUT_MS,
      },
    });

    return {
      id: 'dispatch-lambda',
      title: '2. Lambda dispatch',
      settings: [
        `${DISPATCH_JOB_COUNT} jobs per run, after ${DISPATCH_WARMUP_JOB_COUNT} warm-up jobs on the same worker`,
        `concurrency ${DISPATCH_CONCURRENCY}, one worker process, local Lambda host (\`startLambdaHost\`) in the bench process with a no-op handler returning {"ok":true}; its execution environments are worker threads of the bench process`,
        `the host's ${DISPATCH_CONCURRENCY} execution environments are started ${ENVIRONMENTS_PER_WARMUP_STEP} at a time before the first run, because starting 100 at once on a small machine exceeds the 10 s init limit, which the host enforces as Lambda does`,
        `then ${WARMUP_INVOCATIONS} no-op invocations and ${WARMUP_DRAINS} untimed drain by the minimal hand-written worker warm the host up`,
        'Bullpen: `startDispatcher` in its own process with fake credentials and `AWS_ENDPOINT_URL_LAMBDA` set to the host; registration `{"type": "lambda", "functionName": "bench-noop", "timeout": 30000}` with concurrency 100',
        "hand-written: BullMQ `Worker` (concurrency 100) calling `LambdaClient.send(new InvokeCommand(...))` with `maxAttempts: 1` and a keep-alive `http.Agent` (maxSockets 100); minimal payload `{id, name, data}`, or Bullpen's payload `{job, token, queue, callbackUrl}`",
        'timing, CPU per job and order as in path 1',
      ],
      rows,
      notes: [],
    };
  } finally {
    await host.close();
  }
}

/**
 * Starts `count` execution environments, a few at a time, then runs WARMUP_INVOCATIONS
 * no-op invocations through them. Each step keeps the environments already started busy
 * with sleeping invocations, so the host must start new ones. The client needs `count`
 * sockets for that. With the SDK's default of 50, only 50 environments started here. The
 * host then started the other 50 during the first drains, and the timed run among them was
 * 2 to 3 times slower than the others.
 */
async function warmUpHost(host: LambdaHost, count: number, context: BenchContext): Promise<void> {
  const client = new LambdaClient({
    endpoint: host.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    // The warm-up measures nothing, so the SDK may retry it. NOTE: at a load average of 10 to
    // 19 on 2 cores, one warm-up call failed with ECONNRESET and one with "socket hang up",
    // and each failure ended the path. The cause of those resets is not known.
    maxAttempts: WARMUP_MAX_ATTEMPTS,
    requestHandler: new NodeHttpHandler({
      httpAgent: new http.Agent({ keepAlive: true, maxSockets: count }),
    }),
  });
  try {
    const sleeping = Buffer.from(JSON.stringify({ warmupSleepMs: WARMUP_SLEEP_MS }));
    for (
      let busy = ENVIRONMENTS_PER_WARMUP_STEP;
      busy <= count;
      busy += ENVIRONMENTS_PER_WARMUP_STEP
    ) {
      await invokeConcurrently(client, busy, busy, sleeping);
    }
    await invokeConcurrently(client, WARMUP_INVOCATIONS, count, Buffer.from('{}'));
    context.log(`lambda host: ${count} execution environments started and warmed up`);
  } finally {
    client.destroy();
  }
}

/** Invokes the no-op function `total` times with at most `concurrency` calls in flight. */
async function invokeConcurrently(
  client: LambdaClient,
  total: number,
  concurrency: number,
  payload: Uint8Array,
): Promise<void> {
  let started = 0;
  const lane = async () => {
    while (started < total) {
      started += 1;
      const response = await client.send(
        new InvokeCommand({ FunctionName: FUNCTION_NAME, Payload: payload }),
      );
      if (response.FunctionError) {
        const detail = Buffer.from(response.Payload ?? new Uint8Array()).toString('utf8');
        throw new Error(`Warming up the Lambda host failed: ${response.FunctionError} ${detail}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}
