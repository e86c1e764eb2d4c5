import type { Queue } from 'bullmq';
import { throwIfInterrupted } from './interrupt';
import { readCpuMs, readOwnCpuMs, readRedisCpuMs } from './proc-stats';

export interface DrainSettings {
  /** Jobs in the timed batch. */
  readonly jobCount: number;
  /** Jobs processed before the timed batch, so connections and JIT are warm. */
  readonly warmupJobCount: number;
  /** Maximum wait for either batch to finish. */
  readonly timeoutMs: number;
}

export interface DrainResult {
  readonly jobsPerSecond: number;
  readonly durationMs: number;
  /** CPU time the worker process used per timed job, in microseconds. */
  readonly workerCpuUsPerJob: number;
  /**
   * CPU time per timed job, in microseconds, of the worker process, the Redis server and
   * this process, which runs the endpoint or the Lambda host. NaN when Redis is shared.
   */
  readonly allCpuUsPerJob: number;
}

/** The process that runs the worker, whose CPU time is read around the timed batch. */
export interface WorkerProcess {
  readonly pid: number;
  readonly clockTicksPerSecond: number;
  /** The private redis-server; undefined when Redis is shared. */
  readonly redisPid: number | undefined;
}

const POLL_INTERVAL_MS = 10;
const ADD_CHUNK_SIZE = 1000;

/**
 * Times how fast the worker already running on `queue` empties a pre-filled queue. After
 * a warm-up batch, the queue is paused, filled with `jobCount` jobs, and resumed. The time
 * runs from the resume to the `finishedOn` of the last completed job, both read from this
 * machine's clock, so worker start-up and the filling itself are outside it for every
 * worker alike.
 */
export async function measureDrain(
  queue: Queue,
  worker: WorkerProcess,
  settings: DrainSettings,
): Promise<DrainResult> {
  await addJobs(queue, settings.warmupJobCount, 'warmup');
  await waitForFinished(queue, settings.warmupJobCount, settings.timeoutMs);

  await queue.pause();
  await addJobs(queue, settings.jobCount, 'timed');
  const cpuBeforeMs = readCpuMs(worker.pid, worker.clockTicksPerSecond);
  const otherCpuBeforeMs = readOtherCpuMs(worker);
  const startedAtMs = Date.now();
  await queue.resume();
  await waitForFinished(queue, settings.warmupJobCount + settings.jobCount, settings.timeoutMs);
  // The worker is idle once its last job is done, so the polling delay adds almost no CPU.
  const cpuMs = readCpuMs(worker.pid, worker.clockTicksPerSecond) - cpuBeforeMs;
  const otherCpuMs = readOtherCpuMs(worker) - otherCpuBeforeMs;

  // BullMQ lists completed jobs newest first, so the first one finished last.
  const [lastJob] = await queue.getCompleted(0, 0);
  const durationMs = (lastJob?.finishedOn ?? Number.NaN) - startedAtMs;
  return {
    jobsPerSecond: (settings.jobCount * 1000) / durationMs,
    durationMs,
    workerCpuUsPerJob: (cpuMs * 1000) / settings.jobCount,
    allCpuUsPerJob: ((cpuMs + otherCpuMs) * 1000) / settings.jobCount,
  };
}

/** Reads the CPU time so far, in ms, of the Redis server and this process; NaN for a shared Redis. */
function readOtherCpuMs(worker: WorkerProcess): number {
  return readRedisCpuMs(worker.redisPid, worker.clockTicksPerSecond) + readOwnCpuMs();
}

async function addJobs(queue: Queue, count: number, batch: string): Promise<void> {
  for (let first = 0; first < count; first += ADD_CHUNK_SIZE) {
    throwIfInterrupted();
    const size = Math.min(ADD_CHUNK_SIZE, count - first);
    await queue.addBulk(
      Array.from({ length: size }, (_unused, offset) => ({
        name: 'bench',
        data: { batch, index: first + offset },
      })),
    );
  }
}

/** Waits until `expected` jobs have completed; fails at once when any job failed. */
async function waitForFinished(queue: Queue, expected: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await queue.getJobCounts('completed', 'failed');
    if ((counts.failed ?? 0) > 0) {
      const [failed] = await queue.getFailed(0, 0);
      throw new Error(
        `${counts.failed} bench jobs failed in queue "${queue.name}"; the first failed with: ` +
          `${failed?.failedReason ?? 'unknown reason'}`,
      );
    }
    if ((counts.completed ?? 0) >= expected) return;
    if (Date.now() > deadline) {
      throw new Error(
        `Only ${counts.completed} of ${expected} jobs completed in queue "${queue.name}" ` +
          `within ${timeoutMs} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}
