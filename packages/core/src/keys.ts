/** BullMQ's default key prefix, so other BullMQ clients see the same queues. */
export const DEFAULT_QUEUE_PREFIX = 'bull';

export interface RegistryKeys {
  /** Hash of queue name to registration JSON. */
  readonly workers: string;
  /** Stream of change events, written in the same script as the hash. */
  readonly events: string;
}

/**
 * Registry keys for a queue prefix. Both keys share one hash tag so the Lua script that
 * writes them together runs on Redis Cluster and ElastiCache Serverless. The default prefix
 * maps to `{bullpen}`; another prefix gets its own tag so installations sharing a Redis stay apart.
 */
export function registryKeys(queuePrefix: string = DEFAULT_QUEUE_PREFIX): RegistryKeys {
  const tag = queuePrefix === DEFAULT_QUEUE_PREFIX ? 'bullpen' : `bullpen:${queuePrefix}`;
  return { workers: `{${tag}}:workers`, events: `{${tag}}:workers:events` };
}

/** BullMQ 5 key of a job's hash. */
export function jobKey(queuePrefix: string, queue: string, jobId: string): string {
  return `${queuePrefix}:${queue}:${jobId}`;
}

/** BullMQ 5 key holding the lock token of an active job. */
export function jobLockKey(queuePrefix: string, queue: string, jobId: string): string {
  return `${jobKey(queuePrefix, queue, jobId)}:lock`;
}

/** BullMQ 5 key of the list of a job's log lines. */
export function jobLogsKey(queuePrefix: string, queue: string, jobId: string): string {
  return `${jobKey(queuePrefix, queue, jobId)}:logs`;
}
