import type { BullpenClient, Job, NewJob } from '@bullpen/client';
import { CSV_REPORT_FUNCTION } from './example-functions';

export const CSV_REPORT_QUEUE = 'csv-report';
export const TEXT_STATS_QUEUE = 'text-stats';

/** Maximum wait for one demo job; the whole demo normally takes a few seconds. */
const JOB_TIMEOUT_MS = 45_000;
/** Characters of a job's return value printed on its line. */
const PRINTED_RESULT_CHARS = 240;

interface DemoJob {
  readonly queue: string;
  readonly job: NewJob;
  /** Final state the demo expects; one job fails on purpose to show UnrecoverableError. */
  readonly expectedState: 'completed' | 'failed';
}

/** Retries with a short backoff, so the failing job shows that it used only one attempt. */
const RETRIES = { attempts: 3, backoff: { type: 'fixed' as const, delay: 500 } };

const DEMO_JOBS: readonly DemoJob[] = [
  {
    queue: CSV_REPORT_QUEUE,
    expectedState: 'completed',
    job: {
      name: 'rain-by-city-2024',
      data: {
        file: 'city-weather-monthly.csv',
        groupBy: 'city',
        columns: ['precipitation_mm', 'sunshine_hours'],
        stats: ['sum', 'mean'],
        where: { year: 2024 },
        decimals: 1,
      },
      opts: RETRIES,
    },
  },
  {
    queue: CSV_REPORT_QUEUE,
    expectedState: 'completed',
    job: {
      name: 'temperature-by-year',
      data: {
        file: 'city-weather-monthly.csv',
        groupBy: 'year',
        columns: ['mean_temp_c'],
        stats: ['mean', 'min', 'max'],
        percentiles: [10, 90],
        decimals: 1,
      },
      opts: RETRIES,
    },
  },
  {
    queue: CSV_REPORT_QUEUE,
    expectedState: 'completed',
    job: {
      name: 'revenue-by-region',
      data: {
        file: 'store-sales-2024.csv',
        groupBy: 'region',
        columns: ['revenue_eur'],
        stats: ['sum', 'median'],
        percentiles: [90],
      },
      opts: RETRIES,
    },
  },
  {
    queue: CSV_REPORT_QUEUE,
    expectedState: 'failed',
    job: {
      name: 'unknown-column',
      data: { file: 'store-sales-2024.csv', groupBy: 'shop', columns: ['units'] },
      opts: RETRIES,
    },
  },
  {
    queue: TEXT_STATS_QUEUE,
    expectedState: 'completed',
    job: { name: 'tides', data: { file: 'how-tides-work.txt', topWords: 5 }, opts: RETRIES },
  },
  {
    queue: TEXT_STATS_QUEUE,
    expectedState: 'completed',
    job: {
      name: 'harbour-story',
      data: { file: 'harbour-at-dawn.txt', topWords: 5 },
      opts: RETRIES,
    },
  },
];

/**
 * Registers the example workers: csv-report through the Lambda Invoke API, text-stats through
 * its Function URL as an HTTP endpoint.
 */
export async function registerExampleWorkers(
  client: BullpenClient,
  textStatsFunctionUrl: string,
): Promise<void> {
  await client.registerWorker({
    queue: CSV_REPORT_QUEUE,
    endpoint: { type: 'lambda', functionName: CSV_REPORT_FUNCTION, timeout: 30_000 },
    opts: { concurrency: 4 },
  });
  await client.registerWorker({
    queue: TEXT_STATS_QUEUE,
    endpoint: { type: 'http', url: textStatsFunctionUrl, timeout: 30_000 },
    opts: { concurrency: 4 },
  });
}

export interface DemoOutcome {
  readonly queue: string;
  readonly job: Job;
  readonly logs: readonly string[];
  readonly expectedState: DemoJob['expectedState'];
}

/** Adds the demo jobs, waits for each to finish and reads its logs. */
export async function runDemo(client: BullpenClient): Promise<DemoOutcome[]> {
  const added = await Promise.all(
    [CSV_REPORT_QUEUE, TEXT_STATS_QUEUE].map(async (queue) => {
      const specs = DEMO_JOBS.filter((spec) => spec.queue === queue);
      const jobs = await client.addJobs(
        queue,
        specs.map((spec) => spec.job),
      );
      return jobs.map((job, index) => ({ spec: specs[index]!, id: job.id }));
    }),
  );

  return Promise.all(
    added.flat().map(async ({ spec, id }) => {
      const job = await client.waitForJob(spec.queue, id, { timeoutMs: JOB_TIMEOUT_MS });
      const { logs } = await client.getJobLogs(spec.queue, id);
      return { queue: spec.queue, job, logs, expectedState: spec.expectedState };
    }),
  );
}

/** Formats one demo job for the terminal: outcome, progress, log lines and return value. */
export function describeOutcome(outcome: DemoOutcome): string[] {
  const { job } = outcome;
  const allowed =
    typeof job.opts.attempts === 'number' && job.opts.attempts >= 1 ? job.opts.attempts : 1;
  const attempts = `${job.attemptsMade} of ${allowed} attempts`;
  const lines = [
    `${outcome.queue} job ${job.id} "${job.name}": ${job.state} after ${attempts}${expectation(outcome)}`,
  ];

  lines.push(`    progress: ${JSON.stringify(job.progress)}`);
  for (const line of outcome.logs) lines.push(`    log: ${line}`);
  if (job.state === 'completed') {
    lines.push(`    returned: ${truncate(JSON.stringify(job.returnvalue), PRINTED_RESULT_CHARS)}`);
  } else {
    lines.push(`    failed: ${job.failedReason ?? 'no reason recorded'}`);
  }
  return lines;
}

/** Tells whether every demo job ended in the state the demo expects. */
export function demoSucceeded(outcomes: readonly DemoOutcome[]): boolean {
  return outcomes.every((outcome) => outcome.job.state === outcome.expectedState);
}

function expectation(outcome: DemoOutcome): string {
  if (outcome.job.state !== outcome.expectedState) return ` (expected ${outcome.expectedState})`;
  if (outcome.expectedState === 'failed') {
    return ' (as intended: UnrecoverableError skips the remaining attempts)';
  }
  return '';
}

function truncate(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return `${text.slice(0, maxChars)}... (${text.length} characters)`;
}
