import { type Duration, Token } from 'aws-cdk-lib';
import { MAX_ENDPOINT_TIMEOUT_MS, MAX_WORKER_CONCURRENCY, queueNameSchema } from '@bullpen/core';
import type { IConstruct } from 'constructs';
import { assertIntegerInRange, InfraValidationError } from './errors';

/** Retention of finished jobs: BullMQ keeps the newest `count`, or those younger than `age`. */
export interface KeepJobsOptions {
  /** @default no limit by count */
  readonly count?: number;
  /** @default no limit by age */
  readonly age?: Duration;
}

/** BullMQ worker options of a registered queue, in CDK units. */
export interface WorkerOptions {
  /**
   * Jobs each dispatcher task runs at once for this queue.
   * @default 1, BullMQ's default
   */
  readonly concurrency?: number;
  /**
   * Jobs of this queue running at once over all dispatcher tasks.
   * @default no queue-wide cap
   */
  readonly globalConcurrency?: number;
  /**
   * Queue-wide rate limit: at most `max` jobs per `duration`.
   * @default no rate limit
   */
  readonly limiter?: { readonly max: number; readonly duration: Duration };
  /** @default completed jobs are kept, BullMQ's default */
  readonly removeOnComplete?: KeepJobsOptions;
  /** @default failed jobs are kept, BullMQ's default */
  readonly removeOnFail?: KeepJobsOptions;
  /**
   * Times a job may stall (its dispatcher task died) before it fails.
   * @default 1, BullMQ's default
   */
  readonly maxStalledCount?: number;
  /** @default BullMQ's 30 s */
  readonly lockDuration?: Duration;
  /** @default BullMQ's 30 s */
  readonly stalledInterval?: Duration;
}

/** The `opts` object of a `POST /workers` body. */
export type WorkerOptionsJson = Record<string, unknown>;

/**
 * Checks a queue name against the API's rule (1 to 100 characters, no `:`, no control
 * characters), so a bad name fails at synth instead of in the deploy-time registration.
 */
export function assertQueueName(scope: IConstruct, queue: string): void {
  if (Token.isUnresolved(queue)) return;
  const result = queueNameSchema.safeParse(queue);
  if (!result.success) {
    throw new InfraValidationError(
      scope,
      'queue',
      `${result.error.issues[0]?.message ?? 'is invalid'}; got "${queue}"`,
    );
  }
}

/** Checks an endpoint call timeout: whole milliseconds from 1 ms to Lambda's 15 minutes. */
export function assertEndpointTimeout(scope: IConstruct, timeout: Duration | undefined): void {
  if (timeout === undefined || Token.isUnresolved(timeout.toMilliseconds())) return;
  assertIntegerInRange(
    scope,
    'timeout (milliseconds)',
    timeout.toMilliseconds(),
    1,
    MAX_ENDPOINT_TIMEOUT_MS,
  );
}

/** Validates `options` and converts them to the API's JSON: durations in ms, ages in s. */
export function workerOptionsToJson(
  scope: IConstruct,
  options: WorkerOptions = {},
): WorkerOptionsJson {
  assertIntegerInRange(
    scope,
    'options.concurrency',
    options.concurrency,
    1,
    MAX_WORKER_CONCURRENCY,
  );
  assertIntegerInRange(
    scope,
    'options.globalConcurrency',
    options.globalConcurrency,
    1,
    Number.MAX_SAFE_INTEGER,
  );
  assertIntegerInRange(scope, 'options.maxStalledCount', options.maxStalledCount, 0, 1000);

  const json: WorkerOptionsJson = {};
  if (options.concurrency !== undefined) json.concurrency = options.concurrency;
  if (options.globalConcurrency !== undefined) json.globalConcurrency = options.globalConcurrency;
  if (options.maxStalledCount !== undefined) json.maxStalledCount = options.maxStalledCount;
  if (options.limiter !== undefined) {
    assertIntegerInRange(
      scope,
      'options.limiter.max',
      options.limiter.max,
      1,
      Number.MAX_SAFE_INTEGER,
    );
    json.limiter = {
      max: options.limiter.max,
      duration: positiveMs(scope, 'options.limiter.duration', options.limiter.duration),
    };
  }
  if (options.lockDuration !== undefined) {
    json.lockDuration = positiveMs(scope, 'options.lockDuration', options.lockDuration);
  }
  if (options.stalledInterval !== undefined) {
    json.stalledInterval = positiveMs(scope, 'options.stalledInterval', options.stalledInterval);
  }
  if (options.removeOnComplete !== undefined) {
    json.removeOnComplete = keepJobsToJson(
      scope,
      'options.removeOnComplete',
      options.removeOnComplete,
    );
  }
  if (options.removeOnFail !== undefined) {
    json.removeOnFail = keepJobsToJson(scope, 'options.removeOnFail', options.removeOnFail);
  }
  return json;
}

function positiveMs(scope: IConstruct, prop: string, duration: Duration): number {
  const ms = duration.toMilliseconds();
  assertIntegerInRange(scope, `${prop} (milliseconds)`, ms, 1, Number.MAX_SAFE_INTEGER);
  return ms;
}

function keepJobsToJson(
  scope: IConstruct,
  prop: string,
  keep: KeepJobsOptions,
): { count?: number; age?: number } {
  if (keep.count === undefined && keep.age === undefined) {
    throw new InfraValidationError(scope, prop, 'must set count or age; got neither');
  }
  const json: { count?: number; age?: number } = {};
  if (keep.count !== undefined) {
    assertIntegerInRange(scope, `${prop}.count`, keep.count, 0, Number.MAX_SAFE_INTEGER);
    json.count = keep.count;
  }
  if (keep.age !== undefined) {
    // BullMQ counts KeepJobs.age in seconds.
    json.age = keep.age.toSeconds();
  }
  return json;
}
