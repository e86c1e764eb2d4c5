import { z } from 'zod';
import { integerSchema } from './integer';

const countSchema = integerSchema({ min: 0, minMessage: 'must be >= 0' });

/** `removeOnComplete` / `removeOnFail` as BullMQ accepts them: boolean, count, or {count, age}. */
export const keepJobsSchema = z.union(
  [
    z.boolean(),
    countSchema,
    z
      .strictObject({
        count: countSchema.optional(),
        age: integerSchema({
          min: 0,
          typeMessage: 'must be an integer number of seconds',
          minMessage: 'must be >= 0',
        }).optional(),
        limit: integerSchema({ min: 1 }).optional(),
      })
      .refine((value) => value.count !== undefined || value.age !== undefined, {
        error: 'must set "count" or "age"',
      }),
  ],
  {
    error:
      'must be true, false, an integer count >= 0, or {"count": n, "age": seconds, "limit": n} with integers',
  },
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
