import type { JobJson, jobSchema, JobState, workerRegistrationSchema } from '@bullpen/core';
import type { z } from 'zod';

/** A worker registration as sent: the input shape of the API's registration schema. */
export type WorkerRegistrationRequest = z.input<typeof workerRegistrationSchema>;

/** A job to add: `name`, any JSON `data` and BullMQ job options. */
export type NewJob = z.input<typeof jobSchema>;

/** A job as the API returns it. */
export type Job = JobJson;

/** A job returned by `addJobs`; `duplicate` is true when an existing job was found instead. */
export type AddedJob = JobJson & { duplicate?: true };

export interface JobListOptions {
  /** States to list. Default: every state except paused and waiting-children. */
  readonly statuses?: readonly JobState[];
  /** Index of the first job. Default 0. */
  readonly start?: number;
  /** Number of jobs, 1 to 100. Default 10. */
  readonly length?: number;
}

export interface JobList {
  readonly counts: Partial<Record<JobState, number>>;
  readonly jobs: Job[];
  readonly start: number;
  readonly length: number;
}

export interface JobLogOptions {
  /** Index of the first line. Default 0. */
  readonly start?: number;
  /** Number of lines, 1 to 1000. Default 100. */
  readonly length?: number;
}

export interface JobLogs {
  readonly logs: string[];
  /** Total number of lines the job has. */
  readonly count: number;
}

export type { JobState };
