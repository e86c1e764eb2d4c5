import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { OutcomeKind } from './outcome';

/** Call durations from 5 ms to Lambda's 15-minute maximum. */
const CALL_DURATION_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900,
];

/** The dispatcher's Prometheus metrics, on a registry of their own. */
export class DispatcherMetrics {
  readonly registry = new Registry();
  readonly jobs: Counter<'queue' | 'outcome'>;
  readonly callDuration: Histogram<'queue' | 'endpoint_type' | 'outcome'>;
  readonly callsInFlight: Gauge<'queue'>;
  readonly throttles: Counter<'queue'>;
  readonly registrationsRejected: Counter<'queue'>;
  readonly workers: Gauge;
  /** Calls in flight across all queues, readable without the registry's async API. */
  private inFlightTotal = 0;
  private readonly queueMetrics = new Map<string, QueueCallMetrics>();

  constructor() {
    const registers = [this.registry];
    this.jobs = new Counter({
      name: 'bullpen_dispatcher_jobs_total',
      help: 'Endpoint calls by queue and outcome (completed, failed, unrecoverable, throttled, abandoned)',
      labelNames: ['queue', 'outcome'],
      registers,
    });
    this.callDuration = new Histogram({
      name: 'bullpen_dispatcher_call_duration_seconds',
      help: 'Duration of endpoint calls in seconds, from sending the request to reading the answer',
      labelNames: ['queue', 'endpoint_type', 'outcome'],
      buckets: CALL_DURATION_BUCKETS_SECONDS,
      registers,
    });
    this.callsInFlight = new Gauge({
      name: 'bullpen_dispatcher_calls_in_flight',
      help: 'Endpoint calls waiting for their answer',
      labelNames: ['queue'],
      registers,
    });
    this.throttles = new Counter({
      name: 'bullpen_dispatcher_throttles_total',
      help: 'Calls that the endpoint throttled; each pauses the queue and returns the job to waiting',
      labelNames: ['queue'],
      registers,
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
    let queueMetrics = this.queueMetrics.get(key);
    if (!queueMetrics) {
      queueMetrics = new QueueCallMetrics(this, queue, endpointType);
      this.queueMetrics.set(key, queueMetrics);
    }
    return queueMetrics;
  }

  get callsInFlightTotal(): number {
    return this.inFlightTotal;
  }

  /** Adjusts the process-wide count of calls in flight. */
  addInFlight(delta: number): void {
    this.inFlightTotal += delta;
  }
}

type Labelled<T extends { labels: (...values: string[]) => unknown }> = ReturnType<T['labels']>;

/**
 * The metric series of one queue and endpoint type. prom-client hashes the label values on
 * every update, so the labelled series are looked up once and kept.
 */
export class QueueCallMetrics {
  private readonly metrics: DispatcherMetrics;
  private readonly queue: string;
  private readonly endpointType: string;
  private readonly inFlight: Labelled<Gauge<'queue'>>;
  private readonly byOutcome = new Map<
    OutcomeKind,
    {
      jobs: Labelled<Counter<'queue' | 'outcome'>>;
      duration: Labelled<Histogram<'queue' | 'endpoint_type' | 'outcome'>>;
    }
  >();

  constructor(metrics: DispatcherMetrics, queue: string, endpointType: string) {
    this.metrics = metrics;
    this.queue = queue;
    this.endpointType = endpointType;
    this.inFlight = metrics.callsInFlight.labels(queue);
  }

  callStarted(): void {
    this.metrics.addInFlight(1);
    this.inFlight.inc();
  }

  callFinished(outcome: OutcomeKind, durationMs: number): void {
    this.metrics.addInFlight(-1);
    this.inFlight.dec();

    let series = this.byOutcome.get(outcome);
    if (!series) {
      series = {
        jobs: this.metrics.jobs.labels(this.queue, outcome),
        duration: this.metrics.callDuration.labels(this.queue, this.endpointType, outcome),
      };
      this.byOutcome.set(outcome, series);
    }
    series.jobs.inc();
    series.duration.observe(durationMs / 1000);
    if (outcome === 'throttled') this.metrics.throttles.labels(this.queue).inc();
  }
}
