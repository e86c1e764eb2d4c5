import type { Job, Queue } from 'bullmq';

/** Redis rejects a hash command on a key of another type with this error. */
function isWrongTypeError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('WRONGTYPE');
}

/**
 * Reads a job, returning undefined when `id` names no job. BullMQ keeps a job in the hash
 * `<prefix>:<queue>:<id>`, next to the queue's other keys. So an id such as "wait",
 * "events" or "1:logs" addresses a list, a stream or a job's log, and `Queue.getJob` fails
 * with WRONGTYPE. An id such as "meta" or "repeat:<scheduler>" addresses a hash that is not
 * a job, which BullMQ 5 turns into a job with no timestamp.
 */
export async function findJob(queue: Queue, id: string): Promise<Job | undefined> {
  let job: Job | undefined;
  try {
    job = await queue.getJob(id);
  } catch (error) {
    if (isWrongTypeError(error)) return undefined;
    throw error;
  }

  // BullMQ writes a timestamp into every job hash it creates.
  if (!job || !Number.isFinite(job.timestamp)) return undefined;
  return job;
}
