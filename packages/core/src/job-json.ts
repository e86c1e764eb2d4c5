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

/**
 * Converts a BullMQ job into the JSON BullMQ Proxy clients read: `Job.toJSON()` (what
 * `JSON.stringify(job)` produces), with `id` always a string and `state` added when given.
 */
export function toJobJson(job: Job, state?: JobState | 'unknown'): JobJson {
  const json = job.toJSON() as unknown as JobJson;
  json.id = String(job.id);
  json.data = job.data ?? null;
  json.returnvalue = job.returnvalue ?? null;
  // Job.toJSON() leaves these out when they are unset; clients expect them present.
  json.stacktrace = job.stacktrace ?? [];
  json.delay = job.delay ?? 0;
  json.attemptsStarted = job.attemptsStarted ?? 0;
  if (state !== undefined) json.state = state;
  return json;
}
