import { Worker, type Job } from 'bullmq';
import {
  toJobJson,
  type DispatchRequest,
  type Endpoint,
  type Logger,
  type WorkerRegistration,
} from '@bullpen/core';
import { EndpointCallError, UnrecoverableEndpointError } from './errors';
import type { CallContext, Clock } from './invokers/call-context';
import type { HttpInvoker } from './invokers/http-invoker';
import type { LambdaInvoker } from './invokers/lambda-invoker';
import type { DispatcherMetrics } from './metrics';
import { failedReasonOf, type CallOutcome } from './outcome';

/** Everything the processors of all queues share. */
export interface JobDispatchSettings {
  readonly httpInvoker: HttpInvoker;
  readonly lambdaInvoker: LambdaInvoker;
  /** Sent to endpoints as `callbackUrl`. */
  readonly callbackUrl: string;
  readonly metrics: DispatcherMetrics;
  readonly logger: Logger;
  readonly clock: Clock;
}

/**
 * The running state of one queue that a processor reads on every job. The registration is
 * read when a call starts, so an endpoint change made in place applies to the next job.
 */
export interface QueueBinding {
  registration: WorkerRegistration;
  worker?: Worker;
}

/** Endpoint for logs: the URL without query string, which may carry credentials, or the function. */
export function describeEndpointForLog(endpoint: Endpoint): string {
  if (endpoint.type === 'lambda') {
    return endpoint.qualifier
      ? `lambda:${endpoint.functionName}:${endpoint.qualifier}`
      : `lambda:${endpoint.functionName}`;
  }
  const url = new URL(endpoint.url);
  return `${endpoint.method} ${url.origin}${url.pathname}`;
}

/**
 * Creates the BullMQ processor of one queue: it calls the endpoint and turns the outcome
 * into what BullMQ expects. A returned value completes the job, an EndpointCallError
 * fails the attempt, an UnrecoverableError fails the job, and a RateLimitError returns the
 * job to waiting without using an attempt.
 */
export function createJobProcessor(
  queue: string,
  binding: QueueBinding,
  settings: JobDispatchSettings,
): (job: Job, token?: string) => Promise<unknown> {
  const endpointNames = new WeakMap<Endpoint, string>();
  const endpointName = (endpoint: Endpoint) => {
    let name = endpointNames.get(endpoint);
    if (name === undefined) {
      name = describeEndpointForLog(endpoint);
      endpointNames.set(endpoint, name);
    }
    return name;
  };

  const httpMetrics = settings.metrics.forQueue(queue, 'http');

  return async (job, token) => {
    const endpoint = binding.registration.endpoint;
    const attempt = job.attemptsMade + 1;
    const request: DispatchRequest = {
      job: toJobJson(job),
      token: token ?? '',
      queue,
      callbackUrl: settings.callbackUrl,
    };
    const queueMetrics =
      endpoint.type === 'http' ? httpMetrics : settings.metrics.forQueue(queue, endpoint.type);

    const startedMs = settings.clock.now();
    queueMetrics.callStarted();
    const outcome = await callEndpoint(endpoint, request, { attempt }, settings, queue);
    const durationMs = settings.clock.now() - startedMs;
    queueMetrics.callFinished(outcome.kind, durationMs);

    logOutcome(settings.logger, outcome, () => ({
      queue,
      jobId: job.id,
      attempt,
      endpoint: endpointName(endpoint),
      durationMs,
    }));
    return settleJob(outcome, binding, settings.logger, queue);
  };
}

async function callEndpoint(
  endpoint: Endpoint,
  request: DispatchRequest,
  context: CallContext,
  settings: JobDispatchSettings,
  queue: string,
): Promise<CallOutcome> {
  try {
    if (endpoint.type === 'http') {
      return await settings.httpInvoker.call(endpoint, request, context);
    }
    return await settings.lambdaInvoker.call(endpoint, request, context);
  } catch (error) {
    // Invokers return outcomes for every failure they know; anything else is a bug.
    settings.logger.error(
      { queue, jobId: request.job.id, err: error },
      'endpoint call raised an unexpected error',
    );
    return { kind: 'failed', reason: `Internal dispatcher error: ${(error as Error).message}` };
  }
}

async function settleJob(
  outcome: CallOutcome,
  binding: QueueBinding,
  logger: Logger,
  queue: string,
): Promise<unknown> {
  switch (outcome.kind) {
    case 'completed':
      return outcome.returnValue;
    case 'failed':
      throw new EndpointCallError(failedReasonOf(outcome));
    case 'unrecoverable':
      throw new UnrecoverableEndpointError(failedReasonOf(outcome));
    case 'throttled':
      // The limiter key pauses every worker of the queue, in every dispatcher, because
      // each worker has a limiter configured (see workerOptionsFor).
      try {
        await binding.worker?.rateLimit(Math.max(1, outcome.retryAfterMs ?? 0));
      } catch (error) {
        logger.error({ queue, err: error }, 'pausing the throttled queue failed');
      }
      throw Worker.RateLimitError();
    case 'abandoned':
      // BullMQ moves a job whose processor throws RateLimitError back to waiting without
      // using an attempt, so another dispatcher picks it up at once.
      throw Worker.RateLimitError();
  }
}

interface OutcomeLogFields {
  readonly queue: string;
  readonly jobId: string | undefined;
  readonly attempt: number;
  readonly endpoint: string;
  readonly durationMs: number;
}

/**
 * Logs one call at the level its outcome calls for. `fieldsOf` builds the fields only when
 * the line is written, because a completed job logs at debug, which is usually off.
 */
function logOutcome(logger: Logger, outcome: CallOutcome, fieldsOf: () => OutcomeLogFields): void {
  switch (outcome.kind) {
    case 'completed':
      if (logger.isLevelEnabled('debug')) {
        logger.debug({ ...fieldsOf(), outcome: outcome.kind }, 'job completed');
      }
      return;
    case 'throttled':
      logger.info(
        {
          ...fieldsOf(),
          outcome: outcome.kind,
          reason: outcome.reason,
          retryAfterMs: outcome.retryAfterMs,
        },
        'endpoint throttled the call; queue paused',
      );
      return;
    case 'failed':
      logger.warn(
        { ...fieldsOf(), outcome: outcome.kind, reason: outcome.reason },
        'job attempt failed',
      );
      return;
    case 'unrecoverable':
      logger.error(
        { ...fieldsOf(), outcome: outcome.kind, reason: outcome.reason },
        'job failed without further attempts',
      );
      return;
    case 'abandoned':
      logger.warn(
        { ...fieldsOf(), outcome: outcome.kind, reason: outcome.reason },
        'call abandoned at shutdown; BullMQ moves the job back to waiting',
      );
      return;
  }
}
