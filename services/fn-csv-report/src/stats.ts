/** Summary statistics of one numeric column within one group. */
export const STATISTICS = ['count', 'sum', 'mean', 'min', 'max', 'median', 'stddev'] as const;
export type Statistic = (typeof STATISTICS)[number];

export function sum(values: readonly number[]): number {
  // Kahan summation: it keeps the rounding error of long columns from building up.
  let total = 0;
  let compensation = 0;
  for (const value of values) {
    const adjusted = value - compensation;
    const next = total + adjusted;
    compensation = next - total - adjusted;
    total = next;
  }
  return total;
}

export function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : sum(values) / values.length;
}

/** Sample standard deviation (n - 1 in the denominator); null for fewer than two values. */
export function sampleStandardDeviation(values: readonly number[]): number | null {
  if (values.length < 2) return null;
  const average = sum(values) / values.length;
  const squares = values.map((value) => (value - average) ** 2);
  return Math.sqrt(sum(squares) / (values.length - 1));
}

/**
 * Percentile `p` (0 to 100) of ascending `sorted` values, interpolating linearly between the
 * two nearest ranks. This is the "linear" method of NumPy's `percentile` and type 7 of R's
 * `quantile`, so results match what analysts get there.
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = (p / 100) * (sorted.length - 1);
  const lowerIndex = Math.floor(rank);
  const upperIndex = Math.ceil(rank);
  const lower = sorted[lowerIndex] as number;
  const upper = sorted[upperIndex] as number;
  return lower + (upper - lower) * (rank - lowerIndex);
}

export function computeStatistic(statistic: Statistic, sorted: readonly number[]): number | null {
  switch (statistic) {
    case 'count':
      return sorted.length;
    case 'sum':
      return sum(sorted);
    case 'mean':
      return mean(sorted);
    case 'min':
      return sorted.length === 0 ? null : (sorted[0] as number);
    case 'max':
      return sorted.length === 0 ? null : (sorted[sorted.length - 1] as number);
    case 'median':
      return percentile(sorted, 50);
    case 'stddev':
      return sampleStandardDeviation(sorted);
  }
}

/** Rounds for output; binary floating point otherwise prints sums like 12.300000000000002. */
export function roundTo(value: number | null, decimals: number): number | null {
  if (value === null) return null;
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
