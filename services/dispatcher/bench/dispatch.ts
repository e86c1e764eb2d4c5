// Dispatch throughput: Bullpen's dispatcher against a hand-written BullMQ Worker that posts
// each job to the same no-op loopback HTTP endpoint (a child process) through an undici Pool. Both run on the
// same Redis in the same process run, alternating, and the median of the runs is compared.
//
// Usage: pnpm --filter @bullpen/dispatcher bench
// Environment: REDIS_URL (default redis://127.0.0.1:6379), BENCH_JOBS (default 5000),
// BENCH_CONCURRENCY (default 100), BENCH_RUNS (default 3) and BENCH_SIDE (bullpen, baseline
// or both, default both). Running one side alone is for profiling with `node --cpu-prof`.
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import os from 'node:os';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import {
  WorkerRegistry,
  normalizedRegistrationSchema,
  silentLogger,
  toJobJson,
} from '@bullpen/core';
import { loadDispatcherConfig, startDispatcher } from '../src';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const JOB_COUNT = Number(process.env.BENCH_JOBS ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 100);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SIDE = process.env.BENCH_SIDE ?? 'both';
const WARM_UP_JOBS = 2000;

interface Endpoint {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The no-op endpoint: reads the request and responds 200 `{"ok":true}` with a
 * Content-Length. It runs in a child process, as a real endpoint runs elsewhere, so that
 * its own work is not counted against whichever contender sends it more headers.
 */
const ENDPOINT_SOURCE = `
const http = require('node:http');
const body = '{"ok":true}';
const server = http.createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    response.end(body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

async function startNoopEndpoint(): Promise<Endpoint> {
  const child = spawn(process.execPath, ['-e', ENDPOINT_SOURCE], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the endpoint process exited with ${code}`)));
    child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  child.removeAllListeners('exit');
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Adds the jobs before any worker runs, so both contenders start from a full queue. */
async function fillQueue(
  redis: Redis,
  prefix: string,
  queueName: string,
  jobCount: number,
): Promise<Queue> {
  const queue = new Queue(queueName, { connection: redis, prefix });
  for (let start = 0; start < jobCount; start += 1000) {
    const size = Math.min(1000, jobCount - start);
    await queue.addBulk(
      Array.from({ length: size }, (_, index) => ({
        name: 'bench',
        data: { index: start + index, payload: 'x'.repeat(64) },
      })),
    );
  }
  return queue;
}

/**
 * Jobs per second between the first job's start and the last job's finish, read from the
 * jobs themselves so that polling does not blur the window.
 */
async function throughputOf(queue: Queue, jobCount: number): Promise<number> {
  const jobs = await queue.getJobs(['completed'], 0, -1);
  if (jobs.length !== jobCount) {
    throw new Error(`expected ${jobCount} completed jobs, found ${jobs.length}`);
  }
  const firstStartMs = Math.min(...jobs.map((job) => job.processedOn ?? Infinity));
  const lastFinishMs = Math.max(...jobs.map((job) => job.finishedOn ?? 0));
  return (jobCount / (lastFinishMs - firstStartMs)) * 1000;
}

/** Throughput of one run and the CPU time this process spent per job during it. */
interface RunResult {
  readonly jobsPerSecond: number;
  readonly cpuMicrosPerJob: number;
}

async function measure(
  queue: Queue,
  jobCount: number,
  cpuBefore: NodeJS.CpuUsage,
): Promise<RunResult> {
  const cpu = process.cpuUsage(cpuBefore);
  return {
    jobsPerSecond: await throughputOf(queue, jobCount),
    cpuMicrosPerJob: (cpu.user + cpu.system) / jobCount,
  };
}

async function waitForCompleted(queue: Queue, jobCount: number): Promise<void> {
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    const counts = await queue.getJobCounts('completed', 'failed');
    if ((counts.failed ?? 0) > 0) throw new Error(`${counts.failed} jobs failed`);
    if (counts.completed === jobCount) return;
    if (Date.now() > deadline) throw new Error('the run did not finish within 5 minutes');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  for (const pattern of [`${prefix}:*`, `{bullpen:${prefix}}:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  }
}

/** Runs Bullpen's dispatcher once: registers the queue, lets it drain and measures. */
async function runBullpen(redis: Redis, endpoint: Endpoint, jobCount: number): Promise<RunResult> {
  const prefix = `bench-${crypto.randomBytes(4).toString('hex')}`;
  const queueName = 'dispatch';
  const queue = await fillQueue(redis, prefix, queueName, jobCount);
  const dispatcher = await startDispatcher(
    loadDispatcherConfig({
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      ENDPOINT_ALLOWLIST: '127.0.0.0/8',
      PUBLIC_API_URL: 'http://127.0.0.1:9',
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
    }),
    { logger: silentLogger() },
  );
  try {
    await new WorkerRegistry(redis, prefix).put(
      normalizedRegistrationSchema.parse({
        queue: queueName,
        endpoint: { url: `${endpoint.url}/run` },
        opts: { concurrency: CONCURRENCY },
      }),
    );
    const cpuBefore = process.cpuUsage();
    await waitForCompleted(queue, jobCount);
    return await measure(queue, jobCount, cpuBefore);
  } finally {
    await dispatcher.close();
    await queue.close();
    await deletePrefix(redis, prefix);
  }
}

/** Runs the baseline once: a plain BullMQ Worker posting each job through an undici Pool. */
async function runBaseline(redis: Redis, endpoint: Endpoint, jobCount: number): Promise<RunResult> {
  const prefix = `bench-${crypto.randomBytes(4).toString('hex')}`;
  const queueName = 'dispatch';
  const queue = await fillQueue(redis, prefix, queueName, jobCount);
  const pool = new Pool(endpoint.url, { connections: CONCURRENCY });
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const worker = new Worker(
    queueName,
    async (job: Job, token?: string) => {
      const response = await pool.request({
        path: '/run',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ job: toJobJson(job), token, queue: queueName }),
      });
      const text = await response.body.text();
      if (response.statusCode >= 300) throw new Error(`HTTP ${response.statusCode}`);
      return text === '' ? null : JSON.parse(text);
    },
    { connection, prefix, concurrency: CONCURRENCY },
  );
  try {
    const cpuBefore = process.cpuUsage();
    await waitForCompleted(queue, jobCount);
    return await measure(queue, jobCount, cpuBefore);
  } finally {
    await worker.close();
    await pool.close();
    await connection.quit();
    await queue.close();
    await deletePrefix(redis, prefix);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function describeRedis(redis: Redis): Promise<string> {
  const info = await redis.info('server');
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  const settings: string[] = [];
  for (const name of ['maxmemory-policy', 'appendonly', 'save', 'io-threads']) {
    try {
      const [, value] = (await redis.config('GET', name)) as [string, string];
      settings.push(`${name}=${value === '' ? '""' : value}`);
    } catch {
      settings.push(`${name}=unreadable`);
    }
  }
  return `Redis ${version} at ${new URL(REDIS_URL).host} (${settings.join(', ')})`;
}

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const endpoint = await startNoopEndpoint();
  const cpus = os.cpus();

  console.log(`CPU: ${cpus[0]?.model ?? 'unknown'}, ${cpus.length} logical cores`);
  console.log(`Node ${process.version}, ${os.platform()} ${os.release()}`);
  console.log(await describeRedis(redis));
  console.log(
    `${JOB_COUNT} jobs, concurrency ${CONCURRENCY}, ${RUNS} runs each, alternating, ` +
      `after one uncounted warm-up run of ${WARM_UP_JOBS} jobs each\n`,
  );

  const bullpen: RunResult[] = [];
  const baseline: RunResult[] = [];
  try {
    // One uncounted run of each side first, so that neither pays for JIT compilation and
    // connection set-up in a counted run.
    if (SIDE !== 'baseline') await runBullpen(redis, endpoint, WARM_UP_JOBS);
    if (SIDE !== 'bullpen') await runBaseline(redis, endpoint, WARM_UP_JOBS);

    for (let run = 1; run <= RUNS; run += 1) {
      // Alternate which side goes first so that warm-up and Redis state favour neither.
      const order =
        run % 2 === 1 ? (['bullpen', 'baseline'] as const) : (['baseline', 'bullpen'] as const);
      for (const side of order.filter((name) => SIDE === 'both' || SIDE === name)) {
        const result =
          side === 'bullpen'
            ? await runBullpen(redis, endpoint, JOB_COUNT)
            : await runBaseline(redis, endpoint, JOB_COUNT);
        (side === 'bullpen' ? bullpen : baseline).push(result);
        console.log(
          `run ${run} ${side.padEnd(8)} ${result.jobsPerSecond.toFixed(0)} jobs/s, ` +
            `${result.cpuMicrosPerJob.toFixed(0)} µs CPU per job in this process`,
        );
      }
    }
  } finally {
    await endpoint.close();
    await redis.quit();
  }

  if (bullpen.length === 0 || baseline.length === 0) return;
  const bullpenMedian = median(bullpen.map((result) => result.jobsPerSecond));
  const baselineMedian = median(baseline.map((result) => result.jobsPerSecond));
  const cpuOf = (results: RunResult[]) =>
    median(results.map((result) => result.cpuMicrosPerJob)).toFixed(0);
  console.log('');
  console.log(
    `Bullpen dispatcher:     median ${bullpenMedian.toFixed(0)} jobs/s, ${cpuOf(bullpen)} µs CPU per job`,
  );
  console.log(
    `BullMQ Worker + undici: median ${baselineMedian.toFixed(0)} jobs/s, ${cpuOf(baseline)} µs CPU per job`,
  );
  console.log(`ratio (Bullpen / baseline): ${(bullpenMedian / baselineMedian).toFixed(3)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
