// The baseline of the ingest path: `Queue.add` or `Queue.addBulk` called from one process by
// a number of concurrent callers, each starting its next call when the last one returned.
import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { INGEST_JOB } from '../support/bench-job';
import { reportToParent } from '../support/child-process';
import { latencyPercentiles } from '../support/stats';
import { requiredEnv, requiredIntegerEnv } from './child-env';

type IngestMode = 'add' | 'addBulk';

interface CallerLoopResult {
  readonly latenciesMs: number[];
}

async function main(): Promise<void> {
  const mode = requiredEnv('MODE') as IngestMode;
  if (mode !== 'add' && mode !== 'addBulk') throw new Error('MODE must be add or addBulk');
  const callers = requiredIntegerEnv('CALLERS');
  const bulkSize = requiredIntegerEnv('BULK_SIZE');
  const warmupMs = requiredIntegerEnv('WARMUP_MS');
  const durationMs = requiredIntegerEnv('DURATION_MS');

  const connection = new Redis(requiredEnv('REDIS_URL'), { maxRetriesPerRequest: null });
  const queue = new Queue(requiredEnv('QUEUE'), {
    connection,
    prefix: requiredEnv('QUEUE_PREFIX'),
  });
  await queue.waitUntilReady();

  const bulk = Array.from({ length: bulkSize }, () => ({ ...INGEST_JOB }));
  const call =
    mode === 'add' ? () => queue.add(INGEST_JOB.name, INGEST_JOB.data) : () => queue.addBulk(bulk);

  await runCallers(callers, warmupMs, call);
  // The parent reads the Redis server's CPU time from here to the result line.
  reportToParent({ msg: 'ingest measuring' });
  const startedMs = performance.now();
  const cpuBefore = process.cpuUsage();
  const results = await runCallers(callers, durationMs, call);
  const cpu = process.cpuUsage(cpuBefore);
  const elapsedMs = performance.now() - startedMs;

  const latenciesMs = results.flatMap((result) => result.latenciesMs);
  const { p50, p99 } = latencyPercentiles(latenciesMs);
  reportToParent({
    msg: 'ingest result',
    mode,
    calls: latenciesMs.length,
    callsPerSecond: (latenciesMs.length * 1000) / elapsedMs,
    jobsPerSecond: (latenciesMs.length * bulkSize * 1000) / elapsedMs,
    p50Ms: p50,
    p99Ms: p99,
    cpuMs: (cpu.user + cpu.system) / 1000,
  });
  await queue.close();
  connection.disconnect();
}

/** Runs `callers` loops of `call` until `durationMs` has passed; a call in flight finishes. */
function runCallers(
  callers: number,
  durationMs: number,
  call: () => Promise<unknown>,
): Promise<CallerLoopResult[]> {
  const deadline = performance.now() + durationMs;
  const loop = async (): Promise<CallerLoopResult> => {
    const latenciesMs: number[] = [];
    while (performance.now() < deadline) {
      const startedMs = performance.now();
      await call();
      latenciesMs.push(performance.now() - startedMs);
    }
    return { latenciesMs };
  };
  return Promise.all(Array.from({ length: callers }, loop));
}

main().catch((error: unknown) => {
  process.stderr.write(`direct ingest failed: ${String(error)}\n`);
  process.exit(1);
});
