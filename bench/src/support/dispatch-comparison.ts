import {
  WorkerRegistry,
  normalizedRegistrationSchema,
  type WorkerRegistrationInput,
} from '@bullpen/core';
import { Queue } from 'bullmq';
import { BenchChild } from './child-process';
import { dispatcherEnv, profileArgs, type BenchContext } from './context';
import { measureDrain, type DrainSettings } from './drain-run';

const READY_TIMEOUT_MS = 60_000;

export interface DispatchComparisonSettings {
  /** Short name used in queue names and profile file names, such as `http`. */
  readonly label: string;
  /** Endpoint of the Bullpen registration. */
  readonly endpoint: WorkerRegistrationInput['endpoint'];
  /** Dispatcher variables beyond the common ones, such as the Lambda endpoint. */
  readonly dispatcherEnv: Readonly<Record<string, string>>;
  /** The hand-written worker program, relative to the repository root. */
  readonly baselineScript: string;
  /** Variables of the hand-written worker beyond Redis, queue and concurrency. */
  readonly baselineEnv: Readonly<Record<string, string>>;
  readonly concurrency: number;
  readonly drain: DrainSettings;
}

export interface DispatchComparison {
  readonly bullpenJobsPerSecond: number[];
  readonly baselineJobsPerSecond: number[];
}

type Variant = 'bullpen' | 'baseline';

/**
 * Measures Bullpen's dispatcher and a hand-written worker on the same Redis, alternating
 * which goes first in each run so that a slow drift of the machine favours neither. Each
 * measurement gets a new queue and a new worker process.
 */
export async function compareDispatch(
  context: BenchContext,
  settings: DispatchComparisonSettings,
): Promise<DispatchComparison> {
  const result: DispatchComparison = { bullpenJobsPerSecond: [], baselineJobsPerSecond: [] };
  for (let run = 1; run <= context.runs; run += 1) {
    const order: Variant[] = run % 2 === 1 ? ['bullpen', 'baseline'] : ['baseline', 'bullpen'];
    for (const variant of order) {
      const jobsPerSecond = await measureVariant(context, settings, variant, run);
      const list =
        variant === 'bullpen' ? result.bullpenJobsPerSecond : result.baselineJobsPerSecond;
      list.push(jobsPerSecond);
      context.log(`${settings.label} run ${run} ${variant}: ${jobsPerSecond.toFixed(0)} jobs/s`);
    }
  }
  return result;
}

async function measureVariant(
  context: BenchContext,
  settings: DispatchComparisonSettings,
  variant: Variant,
  run: number,
): Promise<number> {
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
      child = startDispatcherChild(context, settings, `dispatcher-${queueName}`);
    } else {
      child = startBaselineChild(context, settings, queueName);
    }
    await child.waitForLine(
      (line) => line.msg === 'worker started' && line.queue === queueName,
      READY_TIMEOUT_MS,
    );

    const { jobsPerSecond } = await measureDrain(queue, settings.drain);
    return jobsPerSecond;
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
  profileName: string,
): BenchChild {
  return BenchChild.start({
    name: 'Bullpen dispatcher',
    script: 'bench/src/children/dispatcher.ts',
    env: { ...dispatcherEnv(context), ...settings.dispatcherEnv },
    nodeArgs: profileArgs(context, profileName),
  });
}

function startBaselineChild(
  context: BenchContext,
  settings: DispatchComparisonSettings,
  queueName: string,
): BenchChild {
  return BenchChild.start({
    name: 'hand-written worker',
    script: settings.baselineScript,
    env: {
      REDIS_URL: context.redis.url,
      QUEUE_PREFIX: context.redis.prefix,
      QUEUE: queueName,
      CONCURRENCY: String(settings.concurrency),
      ...settings.baselineEnv,
    },
    nodeArgs: profileArgs(context, `baseline-${queueName}`),
  });
}
