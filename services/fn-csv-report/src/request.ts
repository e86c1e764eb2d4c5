import { z } from 'zod';
import { STATISTICS } from './stats';

export const DEFAULT_STATISTICS = ['count', 'sum', 'mean', 'min', 'max'] as const;
export const MAX_GROUP_COLUMNS = 4;
export const MAX_SUMMARY_COLUMNS = 20;
export const MAX_PERCENTILES = 10;

const columnName = z.string().min(1, { error: 'must not be empty' }).max(200);

/** Job data of a CSV report: which file, how to filter and group it, and what to compute. */
export const reportRequestSchema = z.strictObject({
  /** File name in the function's data directory, for example "city-weather-monthly.csv". */
  file: z.string().min(1, { error: 'must not be empty' }).max(255),
  /** Column or columns whose values form the groups; all rows form one group when omitted. */
  groupBy: z
    .union([columnName, z.array(columnName).max(MAX_GROUP_COLUMNS)], {
      error: `must be a column name or a list of at most ${MAX_GROUP_COLUMNS} column names`,
    })
    .optional()
    .transform((value) => (value === undefined ? [] : Array.isArray(value) ? value : [value])),
  /** Numeric columns to summarise. */
  columns: z
    .array(columnName, { error: 'must be a list of numeric column names' })
    .min(1, { error: 'must name at least one column' })
    .max(MAX_SUMMARY_COLUMNS, { error: `must name at most ${MAX_SUMMARY_COLUMNS} columns` }),
  stats: z
    .array(z.enum(STATISTICS, { error: `must be one of ${STATISTICS.join(', ')}` }))
    .min(1)
    .default([...DEFAULT_STATISTICS]),
  /** Percentiles from 0 to 100, reported as `p<value>` (for example `p90`). */
  percentiles: z
    .array(z.number().min(0, { error: 'must be 0 to 100' }).max(100, { error: 'must be 0 to 100' }))
    .max(MAX_PERCENTILES)
    .default([]),
  /** Keeps only rows whose cells equal these values, compared as text. */
  where: z.record(columnName, z.union([z.string(), z.number(), z.boolean()])).default({}),
  /** Decimal places of the results. */
  decimals: z.int().min(0).max(10).default(2),
});

export type ReportRequest = z.output<typeof reportRequestSchema>;
