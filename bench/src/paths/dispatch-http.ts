import type { BenchContext } from '../support/context';
import { compareDispatch } from '../support/dispatch-comparison';
import { startNoopEndpoint } from '../support/noop-endpoint';
import { ratioRow, type PathReport } from '../support/report';
import { summarize } from '../support/stats';

export const DISPATCH_JOB_COUNT = 5_000;
export const DISPATCH_WARMUP_JOB_COUNT = 500;
export const DISPATCH_CONCURRENCY = 100;
const DRAIN_TIMEOUT_MS = 120_000;
const MINIMUM_RATIO = 0.95;

/** Path 1: jobs per second into a no-op HTTP endpoint, Bullpen against a hand-written worker. */
export async function benchDispatchHttp(context: BenchContext): Promise<PathReport> {
  const endpoint = await startNoopEndpoint();
  try {
    const url = `${endpoint.url}/jobs`;
    const result = await compareDispatch(context, {
      label: 'http',
      endpoint: { type: 'http', url },
      dispatcherEnv: {},
      baselineScript: 'bench/src/children/http-worker.ts',
      baselineEnv: { ENDPOINT_URL: url },
      concurrency: DISPATCH_CONCURRENCY,
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
        `concurrency ${DISPATCH_CONCURRENCY}, one worker process, no-op endpoint on 127.0.0.1 in the bench process answering 200 {"ok":true}`,
        'Bullpen: `startDispatcher` in its own process, the queue registered through the worker registry with `{"url": ..., "opts": {"concurrency": 100}}` (POST, 30 s timeout, 1 MiB answer cap)',
        'Baseline: BullMQ `Worker` (concurrency 100) in its own process posting `{id, name, data}` through an undici `Pool` with 100 connections and returning the parsed answer',
        'Timing: queue paused, filled with `addBulk`, resumed; from the resume to the `finishedOn` of the last completed job',
        'Order alternates between runs (Bullpen first in odd runs); a new queue and a new worker process per measurement',
      ],
      rows: [
        ratioRow(
          'throughput',
          'jobs/s',
          summarize(result.bullpenJobsPerSecond),
          {
            label: 'hand-written Worker + undici Pool',
            summary: summarize(result.baselineJobsPerSecond),
          },
          MINIMUM_RATIO,
        ),
      ],
      notes: [],
    };
  } finally {
    await endpoint.close();
  }
}
