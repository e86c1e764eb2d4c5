import type { Redis } from 'ioredis';
import type { KeepJobs as BullKeepJobs, WorkerOptions as BullWorkerOptions } from 'bullmq';
import type { WorkerRegistration } from '@bullpen/core';

/**
 * Limiter given to workers whose registration sets none. It never limits by count, but a
 * configured limiter is what makes BullMQ 5 honour the queue's limiter key in every worker
 * (moveToActive ignores the key when the worker has no limiter). Without it, the pause
 * that `Worker.rateLimit` sets after a throttled call would stop only this dispatcher.
 */
export const THROTTLE_ONLY_LIMITER = { max: 1_000_000_000, duration: 1_000 } as const;

export interface WorkerConnectionOptions {
  readonly connection: Redis;
  readonly prefix: string;
}

/**
 * Builds BullMQ worker options from a registration. Options the registration leaves out
 * are left out here too: BullMQ merges with Object.assign, so an explicit `undefined`
 * would replace its default. The worker gets no `name`, because BullMQ would then write
 * it into every job it processes (`processedBy`), a cost on every job for a debugging aid.
 */
export function workerOptionsFor(
  registration: WorkerRegistration,
  base: WorkerConnectionOptions,
): BullWorkerOptions {
  const opts = registration.opts;
  const options: BullWorkerOptions = {
    connection: base.connection,
    prefix: base.prefix,
    autorun: false,
    limiter: opts.limiter ?? { ...THROTTLE_ONLY_LIMITER },
  };
  if (opts.concurrency !== undefined) options.concurrency = opts.concurrency;
  // The registration schema guarantees `count` or `age`, which BullMQ's union type requires.
  if (opts.removeOnComplete !== undefined) {
    options.removeOnComplete = opts.removeOnComplete as BullKeepJobs;
  }
  if (opts.removeOnFail !== undefined) options.removeOnFail = opts.removeOnFail as BullKeepJobs;
  if (opts.maxStalledCount !== undefined) options.maxStalledCount = opts.maxStalledCount;
  if (opts.stalledInterval !== undefined) options.stalledInterval = opts.stalledInterval;
  if (opts.lockDuration !== undefined) options.lockDuration = opts.lockDuration;
  return options;
}

/**
 * Returns whether a running worker can take `next` without being replaced. That holds when
 * only the endpoint, `concurrency` or `globalConcurrency` differ, because those apply to a
 * running worker. Any other option needs a new BullMQ Worker.
 */
export function canUpdateInPlace(current: WorkerRegistration, next: WorkerRegistration): boolean {
  const fixedOptions = (registration: WorkerRegistration) => {
    const { concurrency: _concurrency, globalConcurrency: _global, ...rest } = registration.opts;
    return stableJson(rest);
  };
  return fixedOptions(current) === fixedOptions(next);
}

/** JSON with object keys sorted, so equal values give equal text. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner;
    return Object.fromEntries(
      Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  });
}
