/** Median, smallest and largest of a set of runs. */
export interface RunSummary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: readonly number[];
}

/** Summarises the values of repeated runs; `values` must not be empty. */
export function summarize(values: readonly number[]): RunSummary {
  if (values.length === 0) throw new Error('summarize needs at least one value');
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: percentileOfSorted(sorted, 50),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    runs: values,
  };
}

/**
 * Returns the `percent` percentile of ascending `sorted` values by linear interpolation
 * between the two closest ranks, so the 50th percentile of an even count is the mean of
 * the middle pair.
 */
export function percentileOfSorted(sorted: readonly number[], percent: number): number {
  if (sorted.length === 0) throw new Error('percentile of an empty list');
  const rank = (percent / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  const weight = rank - lower;
  return sorted[lower]! * (1 - weight) + sorted[upper]! * weight;
}

/** Returns the 50th and 99th percentiles of unsorted samples. */
export function latencyPercentiles(samples: readonly number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentileOfSorted(sorted, 50), p99: percentileOfSorted(sorted, 99) };
}
