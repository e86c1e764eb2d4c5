import { mean, percentile, sampleStandardDeviation, sum } from '../src/stats';

describe('percentile', () => {
  const sorted = [1, 2, 3, 4, 10];

  test('returns the ends at 0 and 100', () => {
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile(sorted, 100)).toBe(10);
  });

  test('returns the middle value as the median', () => {
    expect(percentile(sorted, 50)).toBe(3);
  });

  test('interpolates between the nearest ranks', () => {
    // Rank 0.9 * 4 = 3.6 lies between 4 (rank 3) and 10 (rank 4).
    expect(percentile(sorted, 90)).toBeCloseTo(4 + 0.6 * 6, 10);
    // Rank 0.25 * 4 = 1 is exactly the second value.
    expect(percentile(sorted, 25)).toBe(2);
  });

  test('averages the two middle values of an even count', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
  });

  test('returns the only value of a single-value list', () => {
    expect(percentile([7], 37)).toBe(7);
  });

  test('returns null for no values', () => {
    expect(percentile([], 50)).toBeNull();
  });
});

describe('sum and mean', () => {
  test('add decimal values without visible drift', () => {
    const values = Array.from({ length: 1000 }, () => 0.1);

    expect(sum(values)).toBeCloseTo(100, 12);
    expect(mean(values)).toBeCloseTo(0.1, 12);
  });

  test('mean of no values is null', () => {
    expect(mean([])).toBeNull();
  });
});

describe('sampleStandardDeviation', () => {
  test('uses n - 1 in the denominator', () => {
    // Mean 5, squared deviations 9+1+1+1+0+0+4+16 = 32, 32 / 7.
    expect(sampleStandardDeviation([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
  });

  test('is null for fewer than two values', () => {
    expect(sampleStandardDeviation([3])).toBeNull();
  });
});
