import {
  DEFAULT_LISTED_STATES,
  isWellFormedText,
  JOB_STATES,
  queueNameSchema,
  UNPAIRED_SURROGATE_MESSAGE,
  type JobState,
} from '@bullpen/core';
import { z } from 'zod';

export const queueParamsSchema = z.strictObject({ queue: queueNameSchema });

export const jobParamsSchema = z.strictObject({
  queue: queueNameSchema,
  id: z
    .string()
    .min(1, { error: 'must not be empty' })
    .max(1024, { error: 'must be at most 1024 characters' }),
});

function integerText(name: string, min: number, max: number, defaultValue: number) {
  return z
    .string()
    .regex(/^\d{1,10}$/, { error: `must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .pipe(
      z
        .int()
        .min(min, { error: `must be a whole number from ${min} to ${max}` })
        .max(max, { error: `must be a whole number from ${min} to ${max}` }),
    )
    .optional()
    .transform((value) => value ?? defaultValue)
    .describe(`${name}, default ${defaultValue}`);
}

const statusesSchema = z
  .string()
  .max(1000)
  .optional()
  .transform((value, ctx): JobState[] => {
    if (value === undefined) return [...DEFAULT_LISTED_STATES];
    const names = value
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '');
    const unknown = names.filter((name) => !(JOB_STATES as readonly string[]).includes(name));
    if (unknown.length > 0 || names.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a comma list of ${JOB_STATES.join(', ')}`,
      });
      return z.NEVER;
    }
    return [...new Set(names)] as JobState[];
  })
  .describe('Comma list of job states; default every state except paused and waiting-children');

export const listJobsQuerySchema = z.strictObject({
  statuses: statusesSchema,
  start: integerText('Index of the first job', 0, 1_000_000_000, 0),
  length: integerText('Number of jobs', 1, 100, 10),
});

export const logsQuerySchema = z.strictObject({
  start: integerText('Index of the first log line', 0, 1_000_000_000, 0),
  length: integerText('Number of log lines', 1, 1000, 100),
});

export const MAX_LOG_LINE_CHARS = 16 * 1024;

export const logLineSchema = z
  .string({ error: 'must be a JSON string (or a text/plain body)' })
  .max(MAX_LOG_LINE_CHARS, { error: `must be at most ${MAX_LOG_LINE_CHARS} characters` })
  .refine(isWellFormedText, { error: UNPAIRED_SURROGATE_MESSAGE });

export const errorResponseSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    requestId: z.string().optional(),
  }),
});

export const okResponseSchema = z.object({ ok: z.literal(true) });

/** The job JSON as documented; BullMQ adds more fields, which pass through. */
export const jobJsonSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  data: z.unknown(),
  opts: z.record(z.string(), z.unknown()),
  progress: z.unknown(),
  returnvalue: z.unknown(),
  failedReason: z.string().optional(),
  stacktrace: z.array(z.string()),
  attemptsMade: z.number(),
  attemptsStarted: z.number(),
  delay: z.number(),
  timestamp: z.number(),
  processedOn: z.number().optional(),
  finishedOn: z.number().optional(),
  queueQualifiedName: z.string(),
  state: z.enum([...JOB_STATES, 'unknown']).optional(),
  duplicate: z.literal(true).optional(),
});
