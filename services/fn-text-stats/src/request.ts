import { z } from 'zod';
import { DEFAULT_WORDS_PER_MINUTE } from './text-stats';

/** Job data of a text statistics job. */
export const textStatsRequestSchema = z.strictObject({
  /** File name in the function's data directory, for example "how-tides-work.txt". */
  file: z.string().min(1, { error: 'must not be empty' }).max(255),
  /** Length of the top-words list. */
  topWords: z
    .int()
    .min(1, { error: 'must be 1 to 100' })
    .max(100, { error: 'must be 1 to 100' })
    .default(10),
  /** Reading rate for the reading time estimate. */
  wordsPerMinute: z
    .int()
    .min(50, { error: 'must be 50 to 1000' })
    .max(1000, { error: 'must be 50 to 1000' })
    .default(DEFAULT_WORDS_PER_MINUTE),
});

export type TextStatsRequest = z.output<typeof textStatsRequestSchema>;
