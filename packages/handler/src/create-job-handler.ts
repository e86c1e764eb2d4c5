import type { DispatchRequest, JobJson } from '@bullpen/core';
import type { Context } from 'aws-lambda';
import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import { CallbackSender } from './callbacks';
import { createJobContext, startDeadline, type JobContext } from './context';
import { InvalidJobDataError, type CallbackError } from './errors';
import { isFunctionUrlEvent, parseDispatchEvent } from './event';
import { errorResponse, successResponse, type FunctionUrlResponse } from './function-url';

const DEFAULT_CALLBACK_TIMEOUT_MS = 5000;
const DEFAULT_DEADLINE_MARGIN_MS = 500;

/** The job as the dispatcher sent it, with `data` typed by the handler. */
export type HandlerJob<Data> = Omit<JobJson, 'data'> & { readonly data: Data };

/** The function that does a job's work; its result becomes the job's `returnvalue`. */
export type JobProcessor<Data, Result> = (
  job: HandlerJob<Data>,
  ctx: JobContext,
) => Promise<Result> | Result;

export interface JobHandlerOptions<Data> {
  /**
   * Validates `job.data` before the processor runs and types it. Data that does not match
   * fails the job at once with InvalidJobDataError, because a retry would see the same data.
   * Default: no validation, and `data` is typed by the generic parameter.
   */
  readonly dataSchema?: z.ZodType<Data>;
  /** Time allowed for each progress or log call, including the response. Default 5000. */
  readonly callbackTimeoutMs?: number;
  /** How long before Lambda's deadline `ctx.signal` aborts. Default 500. */
  readonly deadlineMarginMs?: number;
  /** undici dispatcher for the callbacks. Default: undici's global dispatcher. */
  readonly dispatcher?: Dispatcher;
  /**
   * Called with every failed progress or log call, awaited by the handler or not, so a
   * function can log failures it does not handle. Default: none.
   */
  readonly onCallbackError?: (error: CallbackError) => void;
}

/**
 * A Lambda handler. For a direct Invoke it returns the processor's result and throws its
 * errors, which Lambda reports as the function error. For a Function URL request it returns
 * the HTTP response.
 */
export type JobLambdaHandler<Result> = (
  event: unknown,
  context?: Context,
) => Promise<Result | FunctionUrlResponse>;

/**
 * Wraps a job processor in a Lambda handler that accepts both ways the dispatcher calls a
 * function: the dispatch request as the Invoke payload, and the same document as the body of
 * a Function URL request (payload format 2.0).
 */
export function createJobHandler<Data = unknown, Result = unknown>(
  processor: JobProcessor<Data, Result>,
  options: JobHandlerOptions<Data> = {},
): JobLambdaHandler<Result> {
  const settings = {
    dataSchema: options.dataSchema,
    callbackTimeoutMs: positiveOption(
      'callbackTimeoutMs',
      options.callbackTimeoutMs,
      DEFAULT_CALLBACK_TIMEOUT_MS,
    ),
    deadlineMarginMs: nonNegativeOption(
      'deadlineMarginMs',
      options.deadlineMarginMs,
      DEFAULT_DEADLINE_MARGIN_MS,
    ),
    dispatcher: options.dispatcher,
    onCallbackError: options.onCallbackError,
  };

  async function runJob(
    request: DispatchRequest,
    source: 'invoke' | 'function-url',
    context?: Context,
  ) {
    const job = readJob(request.job, settings.dataSchema);
    const callbacks = new CallbackSender({
      callbackUrl: request.callbackUrl,
      queue: request.queue,
      jobId: job.id,
      token: request.token,
      timeoutMs: settings.callbackTimeoutMs,
      dispatcher: settings.dispatcher,
      onError: settings.onCallbackError,
    });
    const deadline = startDeadline(context, settings.deadlineMarginMs);
    const ctx = createJobContext({
      queue: request.queue,
      attemptsMade: job.attemptsMade,
      attemptsOption: job.opts.attempts,
      source,
      lambdaContext: context,
      deadline,
      callbacks,
    });

    try {
      return await processor(job, ctx);
    } finally {
      // Callbacks the handler did not await must reach the API while the job token is valid,
      // which ends when the response reaches the dispatcher.
      await callbacks.settle();
      deadline.dispose();
    }
  }

  return async function handleJob(event, context) {
    if (!isFunctionUrlEvent(event)) {
      const { request } = parseDispatchEvent(event);
      return runJob(request, 'invoke', context);
    }

    try {
      const { request } = parseDispatchEvent(event);
      return successResponse(await runJob(request, 'function-url', context));
    } catch (error) {
      return errorResponse(error);
    }
  };
}

function readJob<Data>(job: JobJson, dataSchema: z.ZodType<Data> | undefined): HandlerJob<Data> {
  if (!dataSchema) return job as HandlerJob<Data>;

  const result = dataSchema.safeParse(job.data);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => ({
      path: issue.path.length > 0 ? `data.${issue.path.join('.')}` : 'data',
      message: issue.message,
    }));
    throw new InvalidJobDataError(job.id, issues);
  }
  return { ...job, data: result.data };
}

function positiveOption(name: string, value: number | undefined, defaultValue: number): number {
  if (value === undefined) return defaultValue;
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number of milliseconds (given: ${value})`);
  }
  return value;
}

function nonNegativeOption(name: string, value: number | undefined, defaultValue: number): number {
  if (value === undefined) return defaultValue;
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be 0 or more milliseconds (given: ${value})`);
  }
  return value;
}
