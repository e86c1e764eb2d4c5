import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import { Pool } from 'undici';
import { BenchChild } from '../support/child-process';
import { baselineArgs, bullpenArgs, dispatcherEnv, type BenchContext } from '../support/context';
import { throwIfInterrupted } from '../support/interrupt';
import { startNoopEndpoint } from '../support/noop-endpoint';
import { ratioRow, withMaximum, type PathReport } from '../support/report';
import { latencyPercentiles, summarize } from '../support/stats';

const JOBS_PER_SECOND = 100;
const DURATION_S = 10;
const WARMUP_JOB_COUNT = 100;
const WORKER_CONCURRENCY = 10;
const READY_TIMEOUT_MS = 60_000;
const ARRIVAL_TIMEOUT_MS = 30_000;
const MAXIMUM_P99_MS = 10;
const QUEUE = 'latency';
const BASELINE_QUEUE = 'latency-baseline';
const BASELINE_LABEL = 'hand-written: `Queue.add` + Worker with undici Pool';

/** The job data the sender writes and the endpoint reads back. */
interface LatencyProbe {
  readonly sequence: number;
  /** `performance.now()` in the bench process just before the POST was sent. */
  readonly sentAtMs: number;
}

interface LatencyRun {
  readonly arrivalMs: number[];
  /** Time until the add returned: the API's response, or `Queue.add` for the baseline. */
  readonly addMs: number[];
}

/** Adds one job carrying `probe`. */
type AddProbe = (probe: LatencyProbe) => Promise<void>;

/**
 * Path 4: time from `POST /queues/:q/jobs` to the endpoint receiving the job, at a steady
 * rate. The sender and the endpoint live in the bench process, so one monotonic clock
 * times both ends. The API and the dispatcher run in processes of their own.
 */
export async function benchLatency(context: BenchContext): Promise<PathReport> {
  const arrivals = new Map<number, number>();
  const endpoint = await startNoopEndpoint({
    // Bullpen sends {job: {data}}, the hand-written worker {id, name, data}.
    onBody: (body, arrivedAtMs) => {
      const request = body as { job?: { data?: LatencyProbe }; data?: LatencyProbe };
      const probe = request.job?.data ?? request.data;
      if (probe) arrivals.set(probe.sequence, arrivedAtMs - probe.sentAtMs);
    },
  });
  const token = crypto.randomBytes(16).toString('hex');
  const dispatcher = BenchChild.start({
    name: 'Bullpen dispatcher',
    script: 'bench/src/children/dispatcher.ts',
    env: dispatcherEnv(context),
    outputDir: context.childOutputDir,
    nodeArgs: bullpenArgs(context, 'dispatcher', 'dispatcher-latency'),
  });
  const api = BenchChild.start({
    name: 'Bullpen API',
    script: 'services/api/src/main.ts',
    env: {
      REDIS_URL: context.redis.url,
      QUEUE_PREFIX: context.redis.prefix,
      PORT: '0',
      HOST: '127.0.0.1',
      AUTH_TOKENS: token,
      ENDPOINT_ALLOWLIST: '127.0.0.0/8',
      LOG_LEVEL: 'info',
    },
    outputDir: context.childOutputDir,
    nodeArgs: bullpenArgs(context, 'api', 'api-latency'),
  });
  const baselineWorker = BenchChild.start({
    name: 'hand-written worker',
    script: 'bench/src/children/http-worker.ts',
    env: {
      REDIS_URL: context.redis.url,
      QUEUE_PREFIX: context.redis.prefix,
      QUEUE: BASELINE_QUEUE,
      CONCURRENCY: String(WORKER_CONCURRENCY),
      REQUEST_FORMAT: 'minimal',
      ENDPOINT_URL: `${endpoint.url}/latency`,
    },
    outputDir: context.childOutputDir,
    nodeArgs: baselineArgs(context, 'baseline-latency'),
  });
  const baselineQueue = new Queue(BASELINE_QUEUE, {
    connection: context.redis.client,
    prefix: context.redis.prefix,
  });
  let client: Pool | undefined;

  try {
    const listening = await api.waitForLine(
      (line) => line.msg === 'api listening',
      READY_TIMEOUT_MS,
    );
    await dispatcher.waitForLine((line) => line.msg === 'dispatcher started', READY_TIMEOUT_MS);
    await baselineWorker.waitForLine((line) => line.msg === 'worker started', READY_TIMEOUT_MS);
    client = new Pool(String(listening.url), { connections: 10 });
    const post = postJson(client, token);

    const workerStarted = dispatcher.waitForLine(
      (line) => line.msg === 'worker started' && line.queue === QUEUE,
      READY_TIMEOUT_MS,
    );
    await post('/workers', {
      queue: QUEUE,
      endpoint: { url: `${endpoint.url}/latency` },
      opts: { concurrency: WORKER_CONCURRENCY },
    });
    await workerStarted;

    const addThroughApi: AddProbe = (probe) =>
      post(`/queues/${QUEUE}/jobs`, [{ name: 'latency', data: probe }]);
    const addDirectly: AddProbe = async (probe) => {
      await baselineQueue.add('latency', probe);
    };
    let sequence = 0;
    const sendBatch = async (count: number, add: AddProbe) => {
      const first = sequence;
      sequence += count;
      return sendSteadily(add, first, count, arrivals);
    };
    await sendBatch(WARMUP_JOB_COUNT, addThroughApi);
    await sendBatch(WARMUP_JOB_COUNT, addDirectly);

    const bullpenRuns: LatencyRun[] = [];
    const baselineRuns: LatencyRun[] = [];
    for (let run = 1; run <= context.runs; run += 1) {
      const order = run % 2 === 1 ? ['bullpen', 'baseline'] : ['baseline', 'bullpen'];
      for (const variant of order) {
        const isBullpen = variant === 'bullpen';
        const result = await sendBatch(
          JOBS_PER_SECOND * DURATION_S,
          isBullpen ? addThroughApi : addDirectly,
        );
        (isBullpen ? bullpenRuns : baselineRuns).push(result);
        const arrival = latencyPercentiles(result.arrivalMs);
        context.log(
          `latency run ${run} ${variant}: p50 ${arrival.p50.toFixed(2)} ms, ` +
            `p99 ${arrival.p99.toFixed(2)} ms`,
        );
      }
    }
    return buildReport(bullpenRuns, baselineRuns);
  } catch (error) {
    throw api.withOutput(dispatcher.withOutput(baselineWorker.withOutput(error as Error)));
  } finally {
    await client?.close();
    await Promise.all([api.stop(), dispatcher.stop(), baselineWorker.stop()]);
    await baselineQueue.close();
    await endpoint.close();
    await context.redis.deleteQueueKeys(QUEUE);
    await context.redis.deleteQueueKeys(BASELINE_QUEUE);
  }
}

type PostJson = (path: string, body: unknown) => Promise<void>;

function postJson(client: Pool, token: string): PostJson {
  return async (path, body) => {
    const response = await client.request({
      path,
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) {
      throw new Error(`POST ${path} returned ${response.statusCode}: ${text.slice(0, 500)}`);
    }
  };
}

/**
 * Adds `count` jobs at JOBS_PER_SECOND on a fixed schedule, so a slow response does not delay
 * the next add, and waits for every job to reach the endpoint.
 */
async function sendSteadily(
  add: AddProbe,
  firstSequence: number,
  count: number,
  arrivals: Map<number, number>,
): Promise<LatencyRun> {
  const intervalMs = 1000 / JOBS_PER_SECOND;
  const startMs = performance.now();
  const adds: Array<Promise<number>> = [];
  let failed = false;
  for (let index = 0; index < count && !failed; index += 1) {
    throwIfInterrupted();
    const dueMs = startMs + index * intervalMs;
    const waitMs = dueMs - performance.now();
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));

    const probe: LatencyProbe = { sequence: firstSequence + index, sentAtMs: performance.now() };
    const sent = add(probe).then(() => performance.now() - probe.sentAtMs);
    // Handled at once: a failed add ends the loop, and Promise.all below reports it. Left
    // unhandled until then, it would end the bench process.
    sent.catch(() => {
      failed = true;
    });
    adds.push(sent);
  }
  const addMs = await Promise.all(adds);

  const deadline = performance.now() + ARRIVAL_TIMEOUT_MS;
  const sequences = Array.from({ length: count }, (_unused, index) => firstSequence + index);
  while (sequences.some((value) => !arrivals.has(value))) {
    throwIfInterrupted();
    if (performance.now() > deadline) {
      const missing = sequences.filter((value) => !arrivals.has(value)).length;
      throw new Error(`${missing} of ${count} jobs did not reach the endpoint within 30 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { arrivalMs: sequences.map((value) => arrivals.get(value)!), addMs };
}

function buildReport(
  bullpenRuns: readonly LatencyRun[],
  baselineRuns: readonly LatencyRun[],
): PathReport {
  const summarizePercentile = (
    runs: readonly LatencyRun[],
    pick: (run: LatencyRun) => number[],
    percentile: 'p50' | 'p99',
  ) => summarize(runs.map((run) => latencyPercentiles(pick(run))[percentile]));
  const arrival = (run: LatencyRun) => run.arrivalMs;
  const added = (run: LatencyRun) => run.addMs;
  const baseline = (pick: (run: LatencyRun) => number[], percentile: 'p50' | 'p99') => ({
    label: BASELINE_LABEL,
    summary: summarizePercentile(baselineRuns, pick, percentile),
  });

  return {
    id: 'latency',
    title: '4. Added latency',
    settings: [
      `${JOBS_PER_SECOND} jobs per second on a fixed schedule for ${DURATION_S} s per run, after ${WARMUP_JOB_COUNT} warm-up jobs; nothing else runs on the queues`,
      `Bullpen: single-job \`POST /queues/:q/jobs\` from an undici Pool in the bench process to the API (\`services/api/src/main.ts\`), dispatched by \`startDispatcher\`, each in a process of its own; the worker is registered through \`POST /workers\` with concurrency ${WORKER_CONCURRENCY}`,
      `baseline: \`Queue.add\` in the bench process, the hand-written worker of path 1 (concurrency ${WORKER_CONCURRENCY}) in a process of its own`,
      'latency: from just before the add is sent until the no-op endpoint in the bench process has read the whole dispatched request',
      'both ends read `performance.now()` of the bench process, and the job data carries the send time',
      'add response time: until the API responded to the POST, or until `Queue.add` returned',
      'order alternates between runs',
    ],
    rows: [
      ratioRow(
        'add to endpoint, p50',
        'ms',
        summarizePercentile(bullpenRuns, arrival, 'p50'),
        baseline(arrival, 'p50'),
        undefined,
      ),
      withMaximum(
        ratioRow(
          'add to endpoint, p99',
          'ms',
          summarizePercentile(bullpenRuns, arrival, 'p99'),
          baseline(arrival, 'p99'),
          undefined,
        ),
        MAXIMUM_P99_MS,
        true,
      ),
      ratioRow(
        'add response time, p50',
        'ms',
        summarizePercentile(bullpenRuns, added, 'p50'),
        baseline(added, 'p50'),
        undefined,
      ),
      ratioRow(
        'add response time, p99',
        'ms',
        summarizePercentile(bullpenRuns, added, 'p99'),
        baseline(added, 'p99'),
        undefined,
      ),
    ],
    notes: [],
  };
}
