import { z } from 'zod';

const countSchema = z.int({ error: 'must be an integer' }).min(0, { error: 'must be >= 0' });

/** `removeOnComplete` / `removeOnFail` as BullMQ accepts them: boolean, count, or {count, age}. */
export const keepJobsSchema = z.union(
  [
    z.boolean(),
    countSchema,
    z
      .strictObject({
        count: countSchema.optional(),
        age: z
          .int({ error: 'must be an integer number of seconds' })
          .min(0, { error: 'must be >= 0' })
          .optional(),
        limit: z.int().min(1).optional(),
      })
      .refine((value) => value.count !== undefined || value.age !== undefined, {
        error: 'must set "count" or "age"',
      }),
  ],
  { error: 'must be true, false, a count >= 0, or {"count": n, "age": seconds}' },
);
export type KeepJobsInput = z.infer<typeof keepJobsSchema>;

/** BullMQ's KeepJobs object, the only shape a Worker's removeOnComplete/removeOnFail takes. */
export interface KeepJobs {
  count?: number;
  age?: number;
  limit?: number;
}

/**
 * Converts the boolean and number forms into the object form a BullMQ Worker accepts
 * (BullMQ 5 `WorkerOptions.removeOnComplete` is `KeepJobs` only). `true` removes at once,
 * `false` keeps every job, which is BullMQ's own default, so it becomes `undefined`.
 */
export function normalizeKeepJobs(value: KeepJobsInput | undefined): KeepJobs | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { count: 0 };
  if (typeof value === 'number') return { count: value };
  return value;
}
