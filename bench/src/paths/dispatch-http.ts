import type { BenchContext } from '../support/context';
import { compareDispatch } from '../support/dispatch-comparison';
import { startNoopEndpoint } from '../support/noop-endpoint';
import type { PathReport } from '../support/report';

export const DISPATCH_JOB_COUNT = 5_000;
/**
 * Jobs each worker runs before its timed batch. After 500 jobs, V8 is still compiling a
 * worker's hot code. With 500 warm-up jobs, the CPU per job of Bullpen and of the hand-written
 * worker was about 1.5 times the figure after 5,000. A dispatcher runs for days, so the timed
 * batch should measure compiled code.
 */
export const DISPATCH_WARMUP_JOB_COUNT = 5_000;
export const DISPATCH_CONCURRENCY = 100;
const DRAIN_TIMEOUT_MS = 120_000;
const MINIMUM_RATIO = 0.95;

/** Path 1: jobs per second into a no-op HTTP endpoint, Bullpen against a hand-written worker. */
export async function benchDispatchHttp(context: BenchContext): Promise<PathReport> {
  const endpoint = await startNoopEndpoint();
  try {
    const url = `${endpoint.url}/jobs`;
    const rows = await compareDispatch(context, {
      label: 'http',
      endpoint: { type: 'http', url },
      dispatcherEnv: {},
      baselineScript: 'bench/src/children/http-worker.ts',
      baselineEnv: { ENDPOINT_URL: url },
      baselineLabel: 'Worker + undici Pool',
      concurrency: DISPATCH_CONCURRENCY,
      minimumRatio: MINIMUM_RATIO,
      drain: {
        jobCount: DISPATCH_JOB_COUNT,
        warmupJobCount: DISPATCH_WARMUP_JOB_COUNT,
        timeoutMs: DRAIN_TIMEOUT_MS,
      },
    });

    return {
      id: 'dispatch-http',
      title: '1. HTTP dispatch',
      settings: [
        `${DISPATCH_JOB_COUNT} jobs per run, after ${DISPATCH_WARMUP_JOB_COUNT} warm-up jobs on the same worker`,
        `concurrency ${DISPATCH_CONCURRENCY}, one worker process, no-op endpoint on 127.0.0.1 in the bench process responding 200 {"ok":true}`,
        'Bullpen: `startDispatcher` in its own process, the queue registered through the worker registry with `{"url": ..., "opts": {"concurrency": 100}}` (POST, 30 s timeout, 1 MiB response cap)',
        'hand-written: BullMQ `Worker` (concurrency 100) in its own process posting through an undici `Pool` with 100 connections and returning the parsed response body',
        "minimal request: body `{id, name, data}` and a Content-Type header; Bullpen's request: the body Bullpen sends (`{job: <job JSON>, token, queue, callbackUrl}`) with Bullpen's 7 headers, built by `bench/src/children/request-format.ts`",
        'Timing: queue paused, filled with `addBulk`, resumed; from the resume to the `finishedOn` of the last completed job',
        'Worker CPU per job: user plus system time of the worker process (/proc/<pid>/stat, 10 ms ticks) over the timed batch, divided by the job count; it depends less on what else runs on the machine than throughput does',
        'CPU per job, all processes: the same for the worker process, the private redis-server and the bench process, which runs the endpoint (or the Lambda host) and polls the job counts every 10 ms. With 2 cores, no worker can drain faster than 2,000,000 / (CPU per job) jobs a second. Shown only with a private redis-server started by the bench',
        'the order of the three workers rotates from run to run; a new queue and a new worker process per measurement',
      ],
      rows,
      notes: [],
    };
  } finally {
    await endpoint.close();
  }
}
