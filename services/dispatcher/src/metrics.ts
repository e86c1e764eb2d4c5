import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { OutcomeKind } from './outcome';

/** Call durations from 5 ms to Lambda's 15-minute maximum. */
const CALL_DURATION_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900,
];

/**
 * The dispatcher's Prometheus metrics, on a registry of their own.
 *
 * prom-client hashes the label values on every update. To keep that off the path of each
 * job, the job, in-flight and throttle series are plain counters in QueueCallMetrics. The
 * metrics copy them when they are collected. Only the duration histogram is updated per call.
 */
export class DispatcherMetrics {
  readonly registry = new Registry();
  readonly callDuration: Histogram<'queue' | 'endpoint_type' | 'outcome'>;
  readonly registrationsRejected: Counter<'queue'>;
  readonly workers: Gauge;
  private readonly queueMetrics = new Map<string, QueueCallMetrics>();

  constructor() {
    const registers = [this.registry];
    const queueMetrics = this.queueMetrics;

    new Counter({
      name: 'bullpen_dispatcher_jobs_total',
      help: 'Endpoint calls by queue and outcome (completed, failed, unrecoverable, throttled, abandoned)',
      labelNames: ['queue', 'outcome'],
      registers,
      collect() {
        this.reset();
        for (const series of queueMetrics.values()) {
          for (const [outcome, count] of series.outcomeCounts) {
            this.inc({ queue: series.queue, outcome }, count);
          }
        }
      },
    });
    this.callDuration = new Histogram({
      name: 'bullpen_dispatcher_call_duration_seconds',
      help: 'Duration of endpoint calls in seconds, from sending the request to reading the response',
      labelNames: ['queue', 'endpoint_type', 'outcome'],
      buckets: CALL_DURATION_BUCKETS_SECONDS,
      registers,
    });
    new Gauge({
      name: 'bullpen_dispatcher_calls_in_flight',
      help: 'Endpoint calls waiting for their response',
      labelNames: ['queue'],
      registers,
      collect() {
        this.reset();
        for (const series of queueMetrics.values())
          this.inc({ queue: series.queue }, series.inFlight);
      },
    });
    new Counter({
      name: 'bullpen_dispatcher_throttles_total',
      help: 'Calls that the endpoint throttled; each pauses the queue and returns the job to waiting',
      labelNames: ['queue'],
      registers,
      collect() {
        this.reset();
        for (const series of queueMetrics.values()) {
          this.inc({ queue: series.queue }, series.outcomeCounts.get('throttled') ?? 0);
        }
      },
    });
    this.registrationsRejected = new Counter({
      name: 'bullpen_dispatcher_registrations_rejected_total',
      help: 'Registrations skipped because they failed validation or BullMQ rejected them',
      labelNames: ['queue'],
      registers,
    });
    this.workers = new Gauge({
      name: 'bullpen_dispatcher_workers',
      help: 'Queues with a running BullMQ worker in this process',
      registers,
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** Returns the call counters of one queue and endpoint type, created on first use. */
  forQueue(queue: string, endpointType: string): QueueCallMetrics {
    const key = `${queue}\u0000${endpointType}`;
    let series = this.queueMetrics.get(key);
    if (!series) {
      series = new QueueCallMetrics(this.callDuration, queue, endpointType);
      this.queueMetrics.set(key, series);
    }
    return series;
  }

  /** Calls in flight across all queues. */
  get callsInFlightTotal(): number {
    let total = 0;
    for (const series of this.queueMetrics.values()) total += series.inFlight;
    return total;
  }
}

/** The call counters of one queue and endpoint type. */
export class QueueCallMetrics {
  readonly queue: string;
  inFlight = 0;
  readonly outcomeCounts = new Map<OutcomeKind, number>();
  private readonly callDuration: Histogram<'queue' | 'endpoint_type' | 'outcome'>;
  private readonly durationLabels = new Map<
    OutcomeKind,
    { queue: string; endpoint_type: string; outcome: OutcomeKind }
  >();
  private readonly endpointType: string;

  constructor(
    callDuration: Histogram<'queue' | 'endpoint_type' | 'outcome'>,
    queue: string,
    endpointType: string,
  ) {
    this.callDuration = callDuration;
    this.queue = queue;
    this.endpointType = endpointType;
  }

  callStarted(): void {
    this.inFlight += 1;
  }

  callFinished(outcome: OutcomeKind, durationMs: number): void {
    this.inFlight -= 1;
    this.outcomeCounts.set(outcome, (this.outcomeCounts.get(outcome) ?? 0) + 1);

    let labels = this.durationLabels.get(outcome);
    if (!labels) {
      labels = { queue: this.queue, endpoint_type: this.endpointType, outcome };
      this.durationLabels.set(outcome, labels);
    }
    this.callDuration.observe(labels, durationMs / 1000);
  }
}
