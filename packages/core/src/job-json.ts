import type { Job } from 'bullmq';
import type { JobState } from './schemas/queue';

/** A job as the API returns it: BullMQ's `Job.toJSON()` fields, plus `state` for one job. */
export interface JobJson {
  id: string;
  name: string;
  data: unknown;
  opts: Record<string, unknown>;
  progress: unknown;
  returnvalue: unknown;
  failedReason?: string;
  stacktrace: string[];
  attemptsMade: number;
  attemptsStarted: number;
  delay: number;
  timestamp: number;
  processedOn?: number;
  finishedOn?: number;
  queueQualifiedName: string;
  state?: JobState | 'unknown';
}

/** Converts a BullMQ job into the JSON shape BullMQ Proxy clients read. */
export function toJobJson(job: Job, state?: JobState | 'unknown'): JobJson {
  const json: JobJson = {
    id: String(job.id),
    name: job.name,
    data: job.data ?? null,
    opts: job.opts as Record<string, unknown>,
    progress: job.progress,
    returnvalue: job.returnvalue ?? null,
    failedReason: job.failedReason,
    stacktrace: job.stacktrace ?? [],
    attemptsMade: job.attemptsMade,
    attemptsStarted: job.attemptsStarted,
    delay: job.delay,
    timestamp: job.timestamp,
    processedOn: job.processedOn,
    finishedOn: job.finishedOn,
    queueQualifiedName: job.queueQualifiedName,
  };
  if (state !== undefined) json.state = state;
  return json;
}
