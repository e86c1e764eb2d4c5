import crypto from 'node:crypto';
import autocannon from 'autocannon';
import { INGEST_JOB } from '../support/bench-job';
import { BenchChild } from '../support/child-process';
import { baselineArgs, bullpenArgs, type BenchContext } from '../support/context';
import { throwIfInterrupted } from '../support/interrupt';
import {
  readClockTicksPerSecond,
  readCpuMs,
  readOwnCpuMs,
  readPeakRssMb,
  readRedisCpuMs,
} from '../support/proc-stats';
import { ratioRow, type PathReport, type ResultRow } from '../support/report';
import { summarize } from '../support/stats';

const CONNECTIONS = 50;
const DURATION_S = 10;
const WARMUP_S = 2;
const BULK_SIZE = 100;
const READY_TIMEOUT_MS = 60_000;
const MINIMUM_SINGLE_RATIO = 0.7;
const MINIMUM_BULK_RATIO = 0.9;

/** Throughput and latency of one ingest measurement. */
interface IngestMeasurement {
  readonly jobsPerSecond: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /**
   * CPU time per job, in µs, of every process that took part in the measured window: the
   * server, the Redis server and the load generator (the bench process), or the direct
   * process and the Redis server. NaN when Redis is shared, because its CPU time then
   * includes other clients.
   */
  readonly cpuUsPerJob: number;
  /**
   * CPU time per job, in µs, of the one process that adds the jobs: the API or minimal server,
   * or the direct process. Unlike `cpuUsPerJob`, it is known with a shared Redis too.
   */
  readonly processCpuUsPerJob: number;
  /** Peak resident memory of the server process (VmHWM); NaN for the direct baseline. */
  readonly peakRssMb: number;
}

type IngestKind =
  'api-single' | 'minimal-single' | 'direct-add' | 'api-bulk' | 'minimal-bulk' | 'direct-add-bulk';

const ODD_RUN_ORDER: readonly IngestKind[] = [
  'api-single',
  'minimal-single',
  'direct-add',
  'api-bulk',
  'minimal-bulk',
  'direct-add-bulk',
];
const EVEN_RUN_ORDER: readonly IngestKind[] = [
  'direct-add',
  'minimal-single',
  'api-single',
  'direct-add-bulk',
  'minimal-bulk',
  'api-bulk',
];

/** Path 3: jobs added through the API against `Queue.add` and `Queue.addBulk` called directly. */
export async function benchIngest(context: BenchContext): Promise<PathReport> {
  const clockTicksPerSecond = readClockTicksPerSecond();
  const measurements = new Map<IngestKind, IngestMeasurement[]>(
    ODD_RUN_ORDER.map((kind) => [kind, []]),
  );
  for (let run = 1; run <= context.runs; run += 1) {
    for (const kind of run % 2 === 1 ? ODD_RUN_ORDER : EVEN_RUN_ORDER) {
      throwIfInterrupted();
      const queue = `ingest-${kind}-${run}`;
      const measurement = await measureKind(context, kind, queue, clockTicksPerSecond);
      measurements.get(kind)!.push(measurement);
      context.log(
        `ingest run ${run} ${kind}: ${measurement.jobsPerSecond.toFixed(0)} jobs/s, ` +
          `p50 ${measurement.p50Ms.toFixed(2)} ms, p99 ${measurement.p99Ms.toFixed(2)} ms`,
      );
      await context.redis.deleteQueueKeys(queue);
    }
  }

  const series = (kind: IngestKind, pick: (measurement: IngestMeasurement) => number) =>
    summarize(measurements.get(kind)!.map(pick));
  const jobsPerSecond = (measurement: IngestMeasurement) => measurement.jobsPerSecond;
  const p50 = (measurement: IngestMeasurement) => measurement.p50Ms;
  const p99 = (measurement: IngestMeasurement) => measurement.p99Ms;
  const cpuPerJob = (measurement: IngestMeasurement) => measurement.cpuUsPerJob;
  const processCpuPerJob = (measurement: IngestMeasurement) => measurement.processCpuUsPerJob;
  const peakRss = (measurement: IngestMeasurement) => measurement.peakRssMb;
  // Redis's CPU time is known only for the bench's private redis-server.
  const cpuRows = (rows: ResultRow[]) => (context.redis.isPrivate ? rows : []);
  const baseline = (label: string, kind: IngestKind, pick: (m: IngestMeasurement) => number) => ({
    label,
    summary: series(kind, pick),
  });
  const direct = 'direct `Queue.add`';
  const directBulk = 'direct `Queue.addBulk`';
  const minimal = 'minimal node:http server';

  return {
    id: 'ingest',
    title: '3. API ingest',
    settings: [
      'API: `services/api/src/main.ts` in its own process, bearer token auth on, Redis on loopback; a new API process per measurement',
      `load: autocannon in the bench process, ${CONNECTIONS} connections, ${WARMUP_S} s warm-up then ${DURATION_S} s measured, \`POST /queues/:q/jobs\``,
      `single: body \`[${JSON.stringify(INGEST_JOB)}]\`; bulk: an array of ${BULK_SIZE} such jobs`,
      `direct baseline: one process calling \`Queue.add\` (or \`Queue.addBulk\` with ${BULK_SIZE} jobs) from ${CONNECTIONS} concurrent callers, each calling again when its last call returned, ${WARMUP_S} s warm-up then ${DURATION_S} s measured`,
      'the direct baseline pays for no HTTP hop and no HTTP client, while in the HTTP rows autocannon shares the 2 cores with the server',
      'minimal node:http server (reference, no target): the same load against `bench/src/children/minimal-ingest-server.ts`, which checks the token, parses the array and calls `Queue.add` or `addBulk` and returns only the ids, with no validation and no job JSON',
      'latency: per request for the HTTP rows (autocannon), per call for the direct rows; bulk latency is per 100-job request or call',
      "CPU per job: user and system CPU time over the measured window of every process taking part (server, redis-server and the bench process running autocannon; or the direct process and redis-server), divided by the jobs added. With 2 cores, no setup can add more than 2,000,000 / (CPU per job) jobs a second. Shown only with the bench's private redis-server",
      'CPU per job, adding process: the same for the API or minimal server alone, or for the direct process alone. It shows what adding a job costs in the process that adds it, without the load generator and Redis, and it is shown with a shared Redis too',
      'server peak RSS: VmHWM of the API or minimal server process after its measured run, warm-up included',
      'order alternates between runs; each measurement writes to a new queue, deleted afterwards',
    ],
    rows: [
      ratioRow(
        'single-job throughput',
        'jobs/s',
        series('api-single', jobsPerSecond),
        baseline(direct, 'direct-add', jobsPerSecond),
        MINIMUM_SINGLE_RATIO,
      ),
      ratioRow(
        'single-job throughput',
        'jobs/s',
        series('api-single', jobsPerSecond),
        baseline(minimal, 'minimal-single', jobsPerSecond),
        undefined,
      ),
      ratioRow(
        'single-job p50 latency',
        'ms',
        series('api-single', p50),
        baseline(direct, 'direct-add', p50),
        undefined,
      ),
      ratioRow(
        'single-job p99 latency',
        'ms',
        series('api-single', p99),
        baseline(direct, 'direct-add', p99),
        undefined,
      ),
      ...cpuRows([
        ratioRow(
          'single-job CPU per job, all processes',
          'µs',
          series('api-single', cpuPerJob),
          baseline(direct, 'direct-add', cpuPerJob),
          undefined,
        ),
        ratioRow(
          'single-job CPU per job, all processes',
          'µs',
          series('api-single', cpuPerJob),
          baseline(minimal, 'minimal-single', cpuPerJob),
          undefined,
        ),
      ]),
      ratioRow(
        'single-job CPU per job, adding process',
        'µs',
        series('api-single', processCpuPerJob),
        baseline(direct, 'direct-add', processCpuPerJob),
        undefined,
      ),
      ratioRow(
        'single-job CPU per job, adding process',
        'µs',
        series('api-single', processCpuPerJob),
        baseline(minimal, 'minimal-single', processCpuPerJob),
        undefined,
      ),
      ratioRow(
        'single-job server peak RSS',
        'MB',
        series('api-single', peakRss),
        baseline(minimal, 'minimal-single', peakRss),
        undefined,
      ),
      ratioRow(
        `bulk throughput, ${BULK_SIZE} jobs per request`,
        'jobs/s',
        series('api-bulk', jobsPerSecond),
        baseline(directBulk, 'direct-add-bulk', jobsPerSecond),
        MINIMUM_BULK_RATIO,
      ),
      ratioRow(
        `bulk throughput, ${BULK_SIZE} jobs per request`,
        'jobs/s',
        series('api-bulk', jobsPerSecond),
        baseline(minimal, 'minimal-bulk', jobsPerSecond),
        undefined,
      ),
      ...cpuRows([
        ratioRow(
          'bulk CPU per job, all processes',
          'µs',
          series('api-bulk', cpuPerJob),
          baseline(directBulk, 'direct-add-bulk', cpuPerJob),
          undefined,
        ),
        ratioRow(
          'bulk CPU per job, all processes',
          'µs',
          series('api-bulk', cpuPerJob),
          baseline(minimal, 'minimal-bulk', cpuPerJob),
          undefined,
        ),
      ]),
      ratioRow(
        'bulk CPU per job, adding process',
        'µs',
        series('api-bulk', processCpuPerJob),
        baseline(directBulk, 'direct-add-bulk', processCpuPerJob),
        undefined,
      ),
      ratioRow(
        'bulk CPU per job, adding process',
        'µs',
        series('api-bulk', processCpuPerJob),
        baseline(minimal, 'minimal-bulk', processCpuPerJob),
        undefined,
      ),
      ratioRow(
        'bulk server peak RSS',
        'MB',
        series('api-bulk', peakRss),
        baseline(minimal, 'minimal-bulk', peakRss),
        undefined,
      ),
      ratioRow(
        'bulk p50 latency',
        'ms',
        series('api-bulk', p50),
        baseline(directBulk, 'direct-add-bulk', p50),
        undefined,
      ),
      ratioRow(
        'bulk p99 latency',
        'ms',
        series('api-bulk', p99),
        baseline(directBulk, 'direct-add-bulk', p99),
        undefined,
      ),
    ],
    notes: [],
  };
}

function measureKind(
  context: BenchContext,
  kind: IngestKind,
  queue: string,
  clockTicksPerSecond: number,
): Promise<IngestMeasurement> {
  const bulkSize = kind.endsWith('bulk') ? BULK_SIZE : 1;
  if (kind.startsWith('direct')) {
    return measureDirect(context, queue, bulkSize, clockTicksPerSecond);
  }
  const server = kind.startsWith('api') ? API_SERVER : MINIMAL_SERVER;
  return measureServer(context, server, queue, bulkSize, clockTicksPerSecond);
}

interface IngestServer {
  readonly name: string;
  readonly script: string;
  /** Variables beyond Redis, prefix and the token. */
  readonly env: Readonly<Record<string, string>>;
  readonly tokenVariable: string;
}

const API_SERVER: IngestServer = {
  name: 'Bullpen API',
  script: 'services/api/src/main.ts',
  env: { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
  tokenVariable: 'AUTH_TOKENS',
};

const MINIMAL_SERVER: IngestServer = {
  name: 'minimal ingest server',
  script: 'bench/src/children/minimal-ingest-server.ts',
  env: {},
  tokenVariable: 'AUTH_TOKEN',
};

/** Starts a server process, loads it with autocannon and stops it. */
async function measureServer(
  context: BenchContext,
  server: IngestServer,
  queue: string,
  jobsPerRequest: number,
  clockTicksPerSecond: number,
): Promise<IngestMeasurement> {
  const token = crypto.randomBytes(16).toString('hex');
  const child = BenchChild.start({
    name: server.name,
    script: server.script,
    env: {
      REDIS_URL: context.redis.url,
      QUEUE_PREFIX: context.redis.prefix,
      [server.tokenVariable]: token,
      ...server.env,
    },
    outputDir: context.childOutputDir,
    nodeArgs:
      server === API_SERVER
        ? bullpenArgs(context, 'api', `server-${queue}`)
        : baselineArgs(context, `server-${queue}`),
  });
  try {
    const listening = await child.waitForLine(
      (line) => line.msg === 'api listening',
      READY_TIMEOUT_MS,
    );
    const meters: CpuMeters = {
      allMs: cpuMeter(context, child.pid, clockTicksPerSecond),
      serverMs: () => readCpuMs(child.pid, clockTicksPerSecond),
    };
    const measured = await measureApi(String(listening.url), token, queue, jobsPerRequest, meters);
    return { ...measured, peakRssMb: readPeakRssMb(child.pid) };
  } catch (error) {
    throw child.withOutput(error as Error);
  } finally {
    await child.stop();
  }
}

async function measureApi(
  apiUrl: string,
  token: string,
  queue: string,
  jobsPerRequest: number,
  meters: CpuMeters,
): Promise<Omit<IngestMeasurement, 'peakRssMb'>> {
  const settings: autocannon.Options = {
    url: `${apiUrl}/queues/${queue}/jobs`,
    method: 'POST',
    connections: CONNECTIONS,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(Array.from({ length: jobsPerRequest }, () => INGEST_JOB)),
  };
  checkAllSucceeded(await autocannon({ ...settings, duration: WARMUP_S }));
  const cpuBeforeMs = meters.allMs();
  const serverCpuBeforeMs = meters.serverMs();
  const result = checkAllSucceeded(await autocannon({ ...settings, duration: DURATION_S }));
  const serverCpuSpentMs = meters.serverMs() - serverCpuBeforeMs;
  const cpuSpentMs = meters.allMs() - cpuBeforeMs;

  const requestsPerSecond = result.requests.total / result.duration;
  const jobs = result.requests.total * jobsPerRequest;
  return {
    requestsPerSecond,
    jobsPerSecond: requestsPerSecond * jobsPerRequest,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    cpuUsPerJob: (cpuSpentMs * 1000) / jobs,
    processCpuUsPerJob: (serverCpuSpentMs * 1000) / jobs,
  };
}

function checkAllSucceeded(result: autocannon.Result): autocannon.Result {
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(
      `${result.non2xx} requests to ${result.url} got a non-2xx response and ` +
        `${result.errors} failed; every ingest request must succeed`,
    );
  }
  return result;
}

async function measureDirect(
  context: BenchContext,
  queue: string,
  bulkSize: number,
  clockTicksPerSecond: number,
): Promise<IngestMeasurement> {
  const child = BenchChild.start({
    name: 'direct ingest',
    script: 'bench/src/children/direct-ingest.ts',
    env: {
      REDIS_URL: context.redis.url,
      QUEUE_PREFIX: context.redis.prefix,
      QUEUE: queue,
      MODE: bulkSize > 1 ? 'addBulk' : 'add',
      CALLERS: String(CONNECTIONS),
      BULK_SIZE: String(bulkSize),
      WARMUP_MS: String(WARMUP_S * 1000),
      DURATION_MS: String(DURATION_S * 1000),
    },
    outputDir: context.childOutputDir,
    nodeArgs: baselineArgs(context, `direct-ingest-${queue}`),
  });
  try {
    const timeoutMs = (WARMUP_S + DURATION_S) * 1000 + READY_TIMEOUT_MS;
    await child.waitForLine((candidate) => candidate.msg === 'ingest measuring', timeoutMs);
    const redisBeforeMs = readRedisCpuMs(context.redis.pid, clockTicksPerSecond);
    const line = await child.waitForLine(
      (candidate) => candidate.msg === 'ingest result',
      timeoutMs,
    );
    const redisSpentMs = readRedisCpuMs(context.redis.pid, clockTicksPerSecond) - redisBeforeMs;
    const jobs = Number(line.calls) * bulkSize;
    return {
      requestsPerSecond: Number(line.callsPerSecond),
      jobsPerSecond: Number(line.jobsPerSecond),
      p50Ms: Number(line.p50Ms),
      p99Ms: Number(line.p99Ms),
      cpuUsPerJob: ((Number(line.cpuMs) + redisSpentMs) * 1000) / jobs,
      processCpuUsPerJob: (Number(line.cpuMs) * 1000) / jobs,
      peakRssMb: Number.NaN,
    };
  } finally {
    await child.stop();
  }
}

/** Readers of CPU time so far, in ms. */
interface CpuMeters {
  /** The server, the Redis server and this process, which runs the load generator. */
  readonly allMs: () => number;
  /** The server alone. */
  readonly serverMs: () => number;
}

/**
 * Returns a reader of the CPU time so far, in ms, of a server process, the Redis server and
 * this process, which runs the load generator while a server is measured.
 */
function cpuMeter(
  context: BenchContext,
  serverPid: number,
  clockTicksPerSecond: number,
): () => number {
  return () =>
    readCpuMs(serverPid, clockTicksPerSecond) +
    readRedisCpuMs(context.redis.pid, clockTicksPerSecond) +
    readOwnCpuMs();
}
