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

  callStarted(queue: string): void {
    this.inFlightTotal += 1;
    this.callsInFlight.inc({ queue });
  }

  callFinished(queue: string): void {
    this.inFlightTotal -= 1;
    this.callsInFlight.dec({ queue });
  }

  get callsInFlightTotal(): number {
    return this.inFlightTotal;
  }

  recordCall(queue: string, endpointType: string, outcome: OutcomeKind, durationMs: number): void {
    this.jobs.inc({ queue, outcome });
    this.callDuration.observe({ queue, endpoint_type: endpointType, outcome }, durationMs / 1000);
    if (outcome === 'throttled') this.throttles.inc({ queue });
  }
}
