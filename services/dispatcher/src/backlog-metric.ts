import type { Queue } from 'bullmq';
import type { Logger } from '@bullpen/core';
import type { Clock } from './invokers/call-context';
import { untilAborted } from './until-aborted';

export const BACKLOG_METRIC_NAMESPACE = 'Bullpen';
export const BACKLOG_METRIC_NAME = 'BacklogJobs';

export interface BacklogMetricSettings {
  readonly queues: () => readonly Queue[];
  readonly serviceName: string;
  readonly intervalMs: number;
  /** Receives each line, newline included; default standard output. */
  readonly write: (line: string) => void;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * Builds one CloudWatch Embedded Metric Format line: the CloudWatch agent or the awslogs
 * driver turns it into the metric `Bullpen/BacklogJobs` with the dimension `ServiceName`.
 */
export function formatBacklogLine(
  serviceName: string,
  backlogJobs: number,
  timestampMs: number,
): string {
  const document = {
    _aws: {
      Timestamp: timestampMs,
      CloudWatchMetrics: [
        {
          Namespace: BACKLOG_METRIC_NAMESPACE,
          Dimensions: [['ServiceName']],
          Metrics: [{ Name: BACKLOG_METRIC_NAME, Unit: 'Count' }],
        },
      ],
    },
    ServiceName: serviceName,
    [BACKLOG_METRIC_NAME]: backlogJobs,
  };
  return `${JSON.stringify(document)}\n`;
}

/**
 * Writes the backlog (waiting plus prioritized jobs, summed over the registered queues)
 * every interval. Every dispatcher task writes the same queue-wide number, which is why the
 * scaling policy reads it with the Maximum statistic.
 */
export class BacklogMetricReporter {
  private readonly settings: BacklogMetricSettings;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly stopController = new AbortController();

  constructor(settings: BacklogMetricSettings) {
    this.settings = settings;
  }

  start(): void {
    this.timer = setInterval(() => {
      this.inFlight ??= this.report().finally(() => {
        this.inFlight = undefined;
      });
    }, this.settings.intervalMs);
  }

  /** Stops the interval; a count in progress is abandoned and writes no line. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopController.abort();
    await this.inFlight;
  }

  /** Counts the backlog and writes one line; a Redis failure is logged and skips the line. */
  async report(): Promise<void> {
    const signal = this.stopController.signal;
    let backlogJobs = 0;
    try {
      for (const queue of this.settings.queues()) {
        // The queue handles share the workers' connection, whose commands wait for Redis.
        const counts = await untilAborted(queue.getJobCounts('waiting', 'prioritized'), signal);
        backlogJobs += (counts.waiting ?? 0) + (counts.prioritized ?? 0);
      }
    } catch (error) {
      if (signal.aborted) return;
      this.settings.logger.warn({ err: error }, 'counting the backlog failed; metric line skipped');
      return;
    }
    if (signal.aborted) return;
    this.settings.write(
      formatBacklogLine(this.settings.serviceName, backlogJobs, this.settings.clock.now()),
    );
  }
}
