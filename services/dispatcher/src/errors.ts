import { UnrecoverableError } from 'bullmq';
import { BullpenError } from '@bullpen/core';

/** Base class of the errors the dispatcher raises on purpose. */
export class DispatcherError extends BullpenError {
  constructor(message: string, code: string, cause?: unknown) {
    super(message, { status: 500, code, cause });
  }
}

/**
 * A failed attempt: the job is retried if it has attempts left. The message becomes the
 * job's `failedReason`. The stack is cut to the message because BullMQ stores it in the
 * job, and the dispatcher's internals are of no use to readers of the job.
 */
export class EndpointCallError extends DispatcherError {
  constructor(reason: string) {
    super(reason, 'endpoint_call_failed');
    this.stack = `${this.name}: ${reason}`;
  }
}

/** A failure that no retry can fix: BullMQ fails the job without its remaining attempts. */
export class UnrecoverableEndpointError extends UnrecoverableError {
  constructor(reason: string) {
    super(reason);
    this.stack = `${this.name}: ${reason}`;
  }
}

/** One or more cleanup steps of a shutdown failed; every other step still ran. */
export class DispatcherShutdownError extends DispatcherError {
  readonly failures: ReadonlyArray<{ readonly step: string; readonly error: unknown }>;

  constructor(failures: ReadonlyArray<{ step: string; error: unknown }>) {
    const steps = failures.map((failure) => failure.step).join(', ');
    super(
      `Dispatcher shutdown finished with ${failures.length} failed cleanup step(s): ${steps}. ` +
        'See the error log lines of those steps.',
      'shutdown_failed',
    );
    this.failures = failures;
  }
}
