import type { Logger } from 'pino';
import type { ResolvedFunction } from '../function-definition';
import { EnvironmentPool } from './environment-pool';
import type {
  ExecutionEnvironment,
  InvocationReport,
  InvocationRequest,
} from './execution-environment';

/**
 * Maximum response payload of a synchronous invocation, in bytes: the limit that Lambda's
 * Function.ResponseSizeTooLarge message names.
 */
export const MAX_RESPONSE_PAYLOAD_BYTES = 6_291_556;

export type RunResult =
  | { readonly kind: 'completed'; readonly report: InvocationReport }
  /** Every environment the reserved concurrency allows is busy. */
  | { readonly kind: 'throttled' };

/** Runs the invocations of one function on its pool and counts them. */
export class FunctionRunner {
  readonly fn: ResolvedFunction;
  private readonly pool: EnvironmentPool;
  private readonly logger: Logger;
  private startedInvocations = 0;

  constructor(fn: ResolvedFunction, logger: Logger) {
    this.fn = fn;
    this.logger = logger;
    this.pool = new EnvironmentPool(fn, logger);
  }

  /** Invocations that reached an execution environment, whatever their outcome. */
  get invocationCount(): number {
    return this.startedInvocations;
  }

  /** Runs a synchronous invocation now, or reports that the function is throttled. */
  async runNow(request: InvocationRequest): Promise<RunResult> {
    const environment = this.pool.tryAcquire();
    if (environment === undefined) {
      this.logger.info(
        { functionName: this.fn.name, requestId: request.requestId },
        'invocation throttled by reserved concurrency',
      );
      return { kind: 'throttled' };
    }
    return { kind: 'completed', report: await this.runOn(environment, request) };
  }

  /** Runs an asynchronous invocation as soon as the reserved concurrency allows. */
  async runWhenFree(request: InvocationRequest): Promise<InvocationReport> {
    const environment = await this.pool.acquire();
    return this.runOn(environment, request);
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async runOn(
    environment: ExecutionEnvironment,
    request: InvocationRequest,
  ): Promise<InvocationReport> {
    this.startedInvocations += 1;
    let report: InvocationReport;
    try {
      report = await environment.invoke(request, this.fn.timeoutMs);
    } finally {
      this.pool.release(environment);
    }
    report = limitResponseSize(report);

    const { outcome } = report;
    this.logger.debug(
      {
        functionName: this.fn.name,
        requestId: request.requestId,
        durationMs: Math.round(report.durationMs),
        errorType: outcome.kind === 'function-error' ? outcome.error.errorType : undefined,
      },
      'invocation finished',
    );
    return report;
  }
}

/** Replaces a result larger than Lambda's response limit with Lambda's error for it. */
function limitResponseSize(report: InvocationReport): InvocationReport {
  if (report.outcome.kind !== 'success') return report;
  const sizeBytes = Buffer.byteLength(report.outcome.payloadJson);
  if (sizeBytes <= MAX_RESPONSE_PAYLOAD_BYTES) return report;
  return {
    ...report,
    outcome: {
      kind: 'function-error',
      error: {
        errorType: 'Function.ResponseSizeTooLarge',
        errorMessage:
          `Response payload size (${sizeBytes} bytes) exceeded maximum allowed payload size ` +
          `(${MAX_RESPONSE_PAYLOAD_BYTES} bytes).`,
      },
    },
  };
}
