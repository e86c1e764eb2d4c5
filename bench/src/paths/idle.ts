import { performance } from 'node:perf_hooks';
import { WorkerRegistry, normalizedRegistrationSchema, registryKeys } from '@bullpen/core';
import { BenchChild } from '../support/child-process';
import { bullpenArgs, dispatcherEnv, type BenchContext } from '../support/context';
import { throwIfInterrupted } from '../support/interrupt';
import { readClockTicksPerSecond, readCpuMs, readRssMb } from '../support/proc-stats';
import { limitRow, type PathReport, type ResultRow } from '../support/report';
import { summarize } from '../support/stats';

const QUEUE_COUNTS = [1, 100, 1000] as const;
const SETTLE_MS = 5_000;
const MEASURE_MS = 10_000;
const MAXIMUM_RSS_MB = 400;
const MAXIMUM_CPU_PERCENT = 5;
/** Time allowed to start one queue's worker, on top of a fixed minute. */
const START_MS_PER_QUEUE = 200;

/** Resources one dispatcher process used while its queues were idle. */
interface IdleSample {
  readonly rssMb: number;
  readonly cpuPercent: number;
  readonly redisConnections: number;
  /** Redis's own CPU over the same window; undefined when Redis is not the bench's own. */
  readonly redisCpuPercent: number | undefined;
  /** From spawning the process until every queue had a running worker. */
  readonly startMs: number;
}

/**
 * Path 5: resident memory, idle CPU and Redis connections of one dispatcher process with
 * 1, 100 and 1,000 registered queues that receive no jobs. The dispatcher runs as
 * `pnpm dispatcher` does, from `services/dispatcher/src/main.ts` with its configuration in
 * the environment.
 */
export async function benchIdle(context: BenchContext): Promise<PathReport> {
  const clockTicksPerSecond = readClockTicksPerSecond();
  const samples = new Map<number, IdleSample[]>();
  const notes: string[] = [];

  for (const queueCount of QUEUE_COUNTS) {
    await registerIdleQueues(context, queueCount);
    samples.set(queueCount, []);
    for (let run = 1; run <= context.runs; run += 1) {
      throwIfInterrupted();
      const sample = await measureIdleDispatcher(context, queueCount, clockTicksPerSecond);
      samples.get(queueCount)!.push(sample);
      context.log(
        `idle ${queueCount} queues run ${run}: RSS ${sample.rssMb.toFixed(0)} MB, ` +
          `CPU ${sample.cpuPercent.toFixed(2)} %, ${sample.redisConnections} Redis connections, ` +
          `started in ${(sample.startMs / 1000).toFixed(1)} s`,
      );
    }
  }
  await clearRegistry(context);
  if (!context.redis.isPrivate) {
    notes.push(
      'REDIS_URL named a shared Redis, so the connection count includes whatever other clients opened or closed meanwhile, and Redis CPU is not measured',
    );
  }

  return {
    id: 'idle',
    title: '5. Idle dispatcher',
    settings: [
      `queues: ${QUEUE_COUNTS.join(', ')} registrations in the worker registry before the dispatcher starts, each an HTTP endpoint with default options (concurrency 1), no jobs`,
      'dispatcher: `node <flags of infra/docker/dispatcher.node-flags> --import tsx services/dispatcher/src/main.ts` (the program `pnpm dispatcher` runs, without the tsx wrapper process) with its configuration in environment variables and LOG_LEVEL=info; a new process per run',
      `measured ${SETTLE_MS / 1000} s after the last queue's worker started, over ${MEASURE_MS / 1000} s: CPU from utime + stime in /proc/<pid>/stat, RSS from VmRSS in /proc/<pid>/status at the end`,
      'Redis connections: CLIENT LIST entries while the dispatcher runs minus those before it started',
      'Redis CPU: the same /proc reading for the private redis-server, over the same window',
      'start time: from spawning the process until the dispatcher logged "worker started" for every queue',
    ],
    rows: QUEUE_COUNTS.flatMap((queueCount) => idleRows(queueCount, samples.get(queueCount)!)),
    notes,
  };
}

function idleRows(queueCount: number, runs: readonly IdleSample[]): ResultRow[] {
  const limited = queueCount === 1000;
  const label = `${queueCount} ${queueCount === 1 ? 'queue' : 'queues'}`;
  const rows: ResultRow[] = [
    limitRow(
      `RSS, ${label}`,
      'MB',
      summarize(runs.map((run) => run.rssMb)),
      limited ? MAXIMUM_RSS_MB : undefined,
      false,
    ),
    limitRow(
      `CPU at idle, ${label}`,
      '% of one core',
      summarize(runs.map((run) => run.cpuPercent)),
      limited ? MAXIMUM_CPU_PERCENT : undefined,
      true,
    ),
    limitRow(
      `Redis connections, ${label}`,
      'connections',
      summarize(runs.map((run) => run.redisConnections)),
      undefined,
      true,
    ),
    limitRow(
      `start until all workers run, ${label}`,
      's',
      summarize(runs.map((run) => run.startMs / 1000)),
      undefined,
      true,
    ),
  ];
  const redisCpu = runs.map((run) => run.redisCpuPercent);
  if (redisCpu.every((value) => value !== undefined)) {
    rows.push(
      limitRow(
        `Redis CPU at idle, ${label}`,
        '% of one core',
        summarize(redisCpu as number[]),
        undefined,
        true,
      ),
    );
  }
  return rows;
}

/** Replaces the registry's content with `queueCount` idle HTTP registrations. */
async function registerIdleQueues(context: BenchContext, queueCount: number): Promise<void> {
  await clearRegistry(context);
  const registry = new WorkerRegistry(context.redis.client, context.redis.prefix);
  for (let index = 0; index < queueCount; index += 1) {
    throwIfInterrupted();
    await registry.put(
      normalizedRegistrationSchema.parse({
        queue: `idle-${index}`,
        // Never called: the queues receive no jobs.
        endpoint: { url: 'http://127.0.0.1:9/jobs' },
      }),
    );
  }
}

async function clearRegistry(context: BenchContext): Promise<void> {
  const keys = registryKeys(context.redis.prefix);
  await context.redis.client.unlink(keys.workers, keys.events);
}

async function measureIdleDispatcher(
  context: BenchContext,
  queueCount: number,
  clockTicksPerSecond: number,
): Promise<IdleSample> {
  const connectionsBefore = await countRedisClients(context);
  const spawnedAtMs = performance.now();
  const child = BenchChild.start({
    name: 'Bullpen dispatcher',
    script: 'services/dispatcher/src/main.ts',
    env: dispatcherEnv(context),
    outputDir: context.childOutputDir,
    nodeArgs: bullpenArgs(context, 'dispatcher', `dispatcher-idle-${queueCount}`),
  });
  try {
    await waitForWorkers(child, queueCount);
    const startMs = performance.now() - spawnedAtMs;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

    const redisPid = context.redis.pid;
    const cpuMs = () => readCpuMs(child.pid, clockTicksPerSecond);
    const redisCpuMs = () =>
      redisPid === undefined ? undefined : readCpuMs(redisPid, clockTicksPerSecond);
    const cpuBefore = cpuMs();
    const redisCpuBefore = redisCpuMs();
    const windowStartMs = performance.now();
    await new Promise((resolve) => setTimeout(resolve, MEASURE_MS));
    const windowS = (performance.now() - windowStartMs) / 1000;
    const cpuPercent = toPercent(cpuMs() - cpuBefore, windowS);
    const redisCpuAfter = redisCpuMs();
    const redisCpuPercent =
      redisCpuAfter === undefined || redisCpuBefore === undefined
        ? undefined
        : toPercent(redisCpuAfter - redisCpuBefore, windowS);

    return {
      rssMb: readRssMb(child.pid),
      cpuPercent,
      redisConnections: (await countRedisClients(context)) - connectionsBefore,
      redisCpuPercent,
      startMs,
    };
  } catch (error) {
    throw child.withOutput(error as Error);
  } finally {
    await child.stop();
  }
}

/** Resolves once the dispatcher has logged "worker started" for `queueCount` queues. */
function waitForWorkers(child: BenchChild, queueCount: number): Promise<unknown> {
  const started = new Set<string>();
  return child.waitForLine(
    (line) => {
      if (line.msg === 'worker started') started.add(String(line.queue));
      return started.size >= queueCount;
    },
    60_000 + queueCount * START_MS_PER_QUEUE,
  );
}

async function countRedisClients(context: BenchContext): Promise<number> {
  const list = (await context.redis.client.client('LIST')) as string;
  return list.split('\n').filter((line) => line.trim() !== '').length;
}

function toPercent(cpuMs: number, windowS: number): number {
  return (cpuMs / 1000 / windowS) * 100;
}
