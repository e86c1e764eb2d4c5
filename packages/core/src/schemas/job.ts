import { PRIORITY_LIMIT, QueueKeys } from 'bullmq';
import { parseExpression } from 'cron-parser';
import { z } from 'zod';
import { integerSchema, millisecondsSchema } from './integer';
import { keepJobsSchema } from './keep-jobs';
import {
  CONTROL_CHARACTER_MESSAGE,
  hasNoControlCharacters,
  isWellFormedText,
  UNPAIRED_SURROGATE_MESSAGE,
} from './queue';

/** Highest `priority` BullMQ accepts: 2^21 - 1 in BullMQ 5.81, which rejects 2^21. */
export const MAX_PRIORITY: number = PRIORITY_LIMIT;
export const MAX_JOB_NAME_LENGTH = 1000;
export const MAX_JOB_ID_LENGTH = 512;

const nonNegativeMsSchema = millisecondsSchema({ min: 0, minMessage: 'must be >= 0' });

/**
 * Names BullMQ 5 gives the queue's own keys, such as `<prefix>:<queue>:wait` and `:meta`.
 * A job is stored at `<prefix>:<queue>:<id>`, so a job with one of these ids would collide
 * with that key.
 */
const QUEUE_KEY_NAMES: readonly string[] = Object.keys(new QueueKeys().getKeys('queue')).filter(
  (name) => name !== '',
);

/**
 * Custom job id. BullMQ generates numeric ids itself, so an all-digit custom id could clash
 * with one of them, and `:` is its key separator; BullMQ 5 rejects both.
 */
export const jobIdSchema = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(MAX_JOB_ID_LENGTH, { error: `must be at most ${MAX_JOB_ID_LENGTH} characters` })
  .refine((id) => !/^\d+$/.test(id), {
    error: 'must not be all digits, because BullMQ uses integers for generated ids',
  })
  .refine((id) => !id.includes(':'), { error: 'must not contain ":"' })
  .refine(hasNoControlCharacters, { error: CONTROL_CHARACTER_MESSAGE })
  .refine((id) => !QUEUE_KEY_NAMES.includes(id), {
    error: `must not be the name of one of the queue's own keys (${QUEUE_KEY_NAMES.join(', ')})`,
  })
  .refine(isWellFormedText, { error: UNPAIRED_SURROGATE_MESSAGE });

const backoffSchema = z.union(
  [
    nonNegativeMsSchema,
    z.strictObject({
      type: z.enum(['fixed', 'exponential'], { error: 'must be "fixed" or "exponential"' }),
      delay: nonNegativeMsSchema.optional(),
      jitter: z
        .number({ error: 'must be a number from 0 to 1' })
        .min(0, { error: 'must be a number from 0 to 1' })
        .max(1, { error: 'must be a number from 0 to 1' })
        .optional(),
    }),
  ],
  {
    error:
      'must be an integer delay in ms or {"type": "fixed" | "exponential", "delay": integer ms, "jitter": 0 to 1}',
  },
);

function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Latest time a JavaScript Date can hold, in ms since the epoch (ECMAScript's time range). */
const MAX_DATE_MS = 8.64e15;

/**
 * A repeat start or end, as ms since the epoch or an ISO 8601 UTC date-time. A time past
 * the Date range made BullMQ 5.81 fail in its scheduler script (every) or in cron-parser
 * (pattern).
 */
const repeatDateSchema = z.union(
  [
    integerSchema({
      min: 0,
      max: MAX_DATE_MS,
      typeMessage: 'must be an integer number of ms since the epoch',
      minMessage: 'must be at least 0 (1970-01-01T00:00:00Z)',
      maxMessage: `must be at most ${MAX_DATE_MS}, the latest time a Date can hold`,
    }),
    z.iso.datetime({ error: 'must be an ISO 8601 date-time in UTC, such as 2030-01-31T00:00:00Z' }),
  ],
  {
    error: `must be an integer number of ms since the epoch (0 to ${MAX_DATE_MS}) or an ISO 8601 date-time in UTC`,
  },
);

/** Returns a repeat start or end in ms since the epoch. */
export function repeatDateMs(date: number | string | undefined): number | undefined {
  if (date === undefined) return undefined;
  return typeof date === 'number' ? date : Date.parse(date);
}

const repeatSchema = z
  .strictObject({
    every: millisecondsSchema({ min: 1 }).optional(),
    pattern: z.string({ error: 'must be a cron pattern string' }).min(1).max(256).optional(),
    limit: integerSchema({ min: 1 }).optional(),
    immediately: z.boolean().optional(),
    tz: z
      .string()
      .refine(isValidTimeZone, { error: 'must be an IANA time zone such as Europe/Berlin' })
      .optional(),
    startDate: repeatDateSchema.optional(),
    endDate: repeatDateSchema.optional(),
  })
  .superRefine((repeat, ctx) => {
    const hasEvery = repeat.every !== undefined;
    const hasPattern = repeat.pattern !== undefined;
    if (hasEvery === hasPattern) {
      ctx.addIssue({ code: 'custom', message: 'must set exactly one of "every" or "pattern"' });
    }
    if (repeat.immediately === true && repeat.startDate !== undefined) {
      // BullMQ 5.81 throws on this pair when it creates the scheduler.
      ctx.addIssue({
        code: 'custom',
        path: ['immediately'],
        message: 'cannot be combined with "startDate"',
      });
    }
    const startMs = repeatDateMs(repeat.startDate);
    const endMs = repeatDateMs(repeat.endDate);
    if (startMs !== undefined && endMs !== undefined && endMs <= startMs) {
      ctx.addIssue({ code: 'custom', path: ['endDate'], message: 'must be after "startDate"' });
    }
    if (hasPattern && repeat.pattern !== undefined) {
      try {
        parseExpression(repeat.pattern, repeat.tz ? { tz: repeat.tz } : {});
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          path: ['pattern'],
          message: `is not a valid cron pattern: ${(error as Error).message}`,
        });
      }
    }
    if (hasEvery && repeat.immediately === undefined) return;
    if (hasPattern && repeat.immediately === true) {
      ctx.addIssue({
        code: 'custom',
        path: ['immediately'],
        message: 'applies only to "every"; a cron pattern runs at its next match',
      });
    }
  });
export type RepeatOptions = z.output<typeof repeatSchema>;

export const jobOptionsSchema = z.strictObject({
  attempts: integerSchema({ min: 1, max: 1_000_000 }).optional(),
  backoff: backoffSchema.optional(),
  delay: nonNegativeMsSchema.optional(),
  priority: integerSchema({ min: 0, max: MAX_PRIORITY, minMessage: 'must be >= 0' }).optional(),
  lifo: z.boolean({ error: 'must be a boolean' }).optional(),
  jobId: jobIdSchema.optional(),
  deduplication: z
    .strictObject({
      id: z
        .string({ error: 'must be a string' })
        .min(1, { error: 'must not be empty' })
        .max(512, { error: 'must be at most 512 characters' })
        .refine(hasNoControlCharacters, { error: CONTROL_CHARACTER_MESSAGE })
        .refine(isWellFormedText, { error: UNPAIRED_SURROGATE_MESSAGE }),
      ttl: millisecondsSchema({ min: 1 }).optional(),
    })
    .optional(),
  removeOnComplete: keepJobsSchema.optional(),
  removeOnFail: keepJobsSchema.optional(),
  keepLogs: integerSchema({ min: 1 }).optional(),
  stackTraceLimit: integerSchema({
    min: 0,
    max: 100,
    minMessage: 'must be from 0 to 100',
    maxMessage: 'must be from 0 to 100',
  }).optional(),
  repeat: repeatSchema.optional(),
});
export type JobOptions = z.output<typeof jobOptionsSchema>;

export const jobSchema = z
  .strictObject({
    name: z
      .string({ error: 'must be a string' })
      .min(1, { error: 'must not be empty' })
      .max(MAX_JOB_NAME_LENGTH, { error: `must be at most ${MAX_JOB_NAME_LENGTH} characters` })
      .refine(hasNoControlCharacters, { error: CONTROL_CHARACTER_MESSAGE })
      .refine(isWellFormedText, { error: UNPAIRED_SURROGATE_MESSAGE }),
    // Any JSON value, including 0, false, "" and null; the body was parsed from JSON, so
    // nothing else can arrive here. Missing data is stored as null.
    data: z.unknown().optional(),
    opts: jobOptionsSchema.optional(),
  })
  .superRefine((job, ctx) => {
    const opts = job.opts;
    if (opts?.repeat && opts.jobId) {
      ctx.addIssue({
        code: 'custom',
        path: ['opts', 'jobId'],
        message: 'cannot be combined with "repeat"; the scheduler names its own jobs',
      });
    }
    if (opts?.repeat && opts.delay !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['opts', 'delay'],
        message: 'cannot be combined with "repeat"; use repeat.startDate or repeat.immediately',
      });
    }
    if (opts?.repeat && opts.deduplication) {
      ctx.addIssue({
        code: 'custom',
        path: ['opts', 'deduplication'],
        message: 'cannot be combined with "repeat"',
      });
    }
  });
export type JobInput = z.output<typeof jobSchema>;

export const MAX_JOBS_PER_REQUEST = 1000;

export const jobListSchema = z
  .array(jobSchema, { error: 'must be a JSON array of jobs' })
  .min(1, { error: 'must contain at least one job' })
  .max(MAX_JOBS_PER_REQUEST, { error: `must contain at most ${MAX_JOBS_PER_REQUEST} jobs` });
