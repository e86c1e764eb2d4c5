import {
  WorkerRegistry,
  normalizedRegistrationSchema,
  type WorkerRegistrationInput,
} from '@bullpen/core';
import { Queue } from 'bullmq';
import type { RequestFormat } from '../children/request-format';
import { BenchChild } from './child-process';
import { baselineArgs, bullpenArgs, dispatcherEnv, type BenchContext } from './context';
import { measureDrain, type DrainResult, type DrainSettings } from './drain-run';
import { throwIfInterrupted } from './interrupt';
import { readClockTicksPerSecond } from './proc-stats';
import { ratioRow, type ResultRow } from './report';
import { summarize } from './stats';

const READY_TIMEOUT_MS = 60_000;

export interface DispatchComparisonSettings {
  /** Short name used in queue names and profile directory names, such as `http`. */
  readonly label: string;
  /** Endpoint of the Bullpen registration. */
  readonly endpoint: WorkerRegistrationInput['endpoint'];
  /** Dispatcher variables beyond the common ones, such as the Lambda endpoint. */
  readonly dispatcherEnv: Readonly<Record<string, string>>;
  /** The hand-written worker program, relative to the repository root. */
  readonly baselineScript: string;
  /** Variables of the hand-written worker beyond Redis, queue, concurrency and format. */
  readonly baselineEnv: Readonly<Record<string, string>>;
  /** Name of the hand-written worker in the table, such as `Worker + undici Pool`. */
  readonly baselineLabel: string;
  readonly concurrency: number;
  readonly drain: DrainSettings;
  readonly minimumRatio: number;
  /**
   * Untimed drains by the minimal hand-written worker before the first timed run, for
   * endpoints that start capacity on demand; default 0.
   */
  readonly warmupDrains?: number;
}

type Variant = 'bullpen' | `hand-written-${RequestFormat}`;

const VARIANTS: readonly Variant[] = ['bullpen', 'hand-written-minimal', 'hand-written-bullpen'];

/**
 * Measures Bullpen's dispatcher and two hand-written workers on the same Redis: one sends
 * the least a worker must (`{id, name, data}`), the other sends Bullpen's own request, so
 * the gap splits into what the request format costs and what the dispatcher adds. The
 * order rotates from run to run so that a slow drift of the machine favours no variant.
 * Each measurement gets a new queue and a new worker process.
 */
export async function compareDispatch(
  context: BenchContext,
  settings: DispatchComparisonSettings,
): Promise<ResultRow[]> {
  const results = new Map<Variant, DrainResult[]>(VARIANTS.map((variant) => [variant, []]));
  const clockTicksPerSecond = readClockTicksPerSecond();
  for (let round = 1; round <= (settings.warmupDrains ?? 0); round += 1) {
    throwIfInterrupted();
    await warmUp(context, settings, round, clockTicksPerSecond);
  }
  for (let run = 1; run <= context.runs; run += 1) {
    throwIfInterrupted();
    const shift = (run - 1) % VARIANTS.length;
    const order = [...VARIANTS.slice(shift), ...VARIANTS.slice(0, shift)];
    for (const variant of order) {
      const drain = await measureVariant(context, settings, variant, run, clockTicksPerSecond);
      results.get(variant)!.push(drain);
      context.log(
        `${settings.label} run ${run} ${variant}: ${drain.jobsPerSecond.toFixed(0)} jobs/s, ` +
          `worker CPU ${drain.workerCpuUsPerJob.toFixed(0)} µs/job`,
      );
    }
  }
  return comparisonRows(settings, results, context.redis.isPrivate);
}

/** Runs one untimed drain; failed jobs are logged, since warming up is what they are for. */
async function warmUp(
  context: BenchContext,
  settings: DispatchComparisonSettings,
  round: number,
  clockTicksPerSecond: number,
): Promise<void> {
  try {
    const drain = await measureVariant(
      context,
      settings,
      'hand-written-minimal',
      `warmup${round}`,
      clockTicksPerSecond,
    );
    context.log(`${settings.label} warm-up ${round}: ${drain.jobsPerSecond.toFixed(0)} jobs/s`);
  } catch (error) {
    context.log(`${settings.label} warm-up ${round} failed: ${(error as Error).message}`);
  }
}

function comparisonRows(
  settings: DispatchComparisonSettings,
  results: ReadonlyMap<Variant, DrainResult[]>,
  redisIsPrivate: boolean,
): ResultRow[] {
  const series = (variant: Variant, pick: (drain: DrainResult) => number) =>
    summarize(results.get(variant)!.map(pick));
  const throughput = (drain: DrainResult) => drain.jobsPerSecond;
  const cpu = (drain: DrainResult) => drain.workerCpuUsPerJob;
  const allCpu = (drain: DrainResult) => drain.allCpuUsPerJob;
  const minimal = `hand-written ${settings.baselineLabel}, minimal request`;
  const sameRequest = `hand-written ${settings.baselineLabel}, Bullpen's request`;

  return [
    ratioRow(
      'throughput',
      'jobs/s',
      series('bullpen', throughput),
      { label: minimal, summary: series('hand-written-minimal', throughput) },
      settings.minimumRatio,
    ),
    ratioRow(
      'throughput',
      'jobs/s',
      series('bullpen', throughput),
      { label: sameRequest, summary: series('hand-written-bullpen', throughput) },
      undefined,
    ),
    ratioRow(
      'worker process CPU per job',
      'µs',
      series('bullpen', cpu),
      { label: minimal, summary: series('hand-written-minimal', cpu) },
      undefined,
    ),
    ratioRow(
      'worker process CPU per job',
      'µs',
      series('bullpen', cpu),
      { label: sameRequest, summary: series('hand-written-bullpen', cpu) },
      undefined,
    ),
    // Redis's CPU time is known only for the bench's private redis-server.
    ...(redisIsPrivate ? allProcessRows(series, allCpu, minimal, sameRequest) : []),
  ];
}

function allProcessRows(
  series: (variant: Variant, pick: (drain: DrainResult) => number) => ReturnType<typeof summarize>,
  allCpu: (drain: DrainResult) => number,
  minimal: string,
  sameRequest: string,
): ResultRow[] {
  return [
    ratioRow(
      'CPU per job, all processes',
      'µs',
      series('bullpen', allCpu),
      { label: minimal, summary: series('hand-written-minimal', allCpu) },
      undefined,
    ),
    ratioRow(
      'CPU per job, all processes',
      'µs',
      series('bullpen', allCpu),
      { label: sameRequest, summary: series('hand-written-bullpen', allCpu) },
      undefined,
    ),
  ];
}

async function measureVariant(
  context: BenchContext,
  settings: DispatchComparisonSettings,
  variant: Variant,
  run: number | string,
  clockTicksPerSecond: number,
): Promise<DrainResult> {
  const { redis } = context;
  const queueName = `${settings.label}-${variant}-${run}`;
  const registry = new WorkerRegistry(redis.client, redis.prefix);
  const queue = new Queue(queueName, { connection: redis.client, prefix: redis.prefix });
  let child: BenchChild | undefined;
  try {
    if (variant === 'bullpen') {
      await registry.put(
        normalizedRegistrationSchema.parse({
          queue: queueName,
          endpoint: settings.endpoint,
          opts: { concurrency: settings.concurrency },
        }),
      );
      child = startDispatcherChild(context, settings, queueName);
    } else {
      const format = variant === 'hand-written-bullpen' ? 'bullpen' : 'minimal';
      child = startBaselineChild(context, settings, queueName, format);
    }
    await child.waitForLine(
      (line) => line.msg === 'worker started' && line.queue === queueName,
      READY_TIMEOUT_MS,
    );

    return await measureDrain(
      queue,
      { pid: child.pid, clockTicksPerSecond, redisPid: context.redis.pid },
      settings.drain,
    );
  } catch (error) {
    throw child ? child.withOutput(error as Error) : error;
  } finally {
    await child?.stop();
    if (variant === 'bullpen') await registry.remove(queueName);
    await queue.close();
    await redis.deleteQueueKeys(queueName);
  }
}

function startDispatcherChild(
  context: BenchContext,
  settings: DispatchComparisonSettings,
  queueName: string,
): BenchChild {
  return BenchChild.start({
    name: 'Bullpen dispatcher',
    script: 'bench/src/children/dispatcher.ts',
    env: { ...dispatcherEnv(context), ...settings.dispatcherEnv },
    outputDir: context.childOutputDir,
    nodeArgs: bullpenArgs(context, 'dispatcher', queueName),
  });
}

function startBaselineChild(
  context: BenchContext,
  settings: DispatchComparisonSettings,
  queueName: string,
  format: RequestFormat,
): BenchChild {
  return BenchChild.start({
    name: 'hand-written worker',
    script: settings.baselineScript,
    env: {
      REDIS_URL: context.redis.url,
      QUEUE_PREFIX: context.redis.prefix,
      QUEUE: queueName,
      CONCURRENCY: String(settings.concurrency),
      REQUEST_FORMAT: format,
      ...settings.baselineEnv,
    },
    outputDir: context.childOutputDir,
    nodeArgs: baselineArgs(context, queueName),
  });
}
