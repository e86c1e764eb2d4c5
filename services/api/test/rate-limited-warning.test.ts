import { MAX_TIMER_DELAY_MS, RateLimitedWarning } from '../src/rate-limited-warning';
import { captureLogger } from './capture-logger';

describe('RateLimitedWarning', () => {
  afterEach(() => jest.useRealTimers());

  it('counts events within one interval', () => {
    jest.useFakeTimers();
    const { logger, lines } = captureLogger();
    const warning = new RateLimitedWarning(logger, 'redis unavailable', 1_000);

    warning.warn({ route: 'first' });
    warning.warn({ route: 'second' });
    warning.warn({ route: 'third' });
    expect(lines.map(({ route, suppressedCount }) => ({ route, suppressedCount }))).toEqual([
      { route: 'first', suppressedCount: undefined },
    ]);

    jest.advanceTimersByTime(1_000);
    expect(lines[1]).toMatchObject({ msg: 'redis unavailable', suppressedCount: 2 });

    // The next interval had no events, so the one after it starts with a full line again.
    jest.advanceTimersByTime(1_000);
    warning.warn({ route: 'fourth' });
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ route: 'fourth' });
    warning.flush();
  });

  it('writes the pending count on flush', () => {
    jest.useFakeTimers();
    const { logger, lines } = captureLogger();
    const warning = new RateLimitedWarning(logger, 'redis out of memory', 60_000);

    warning.warn({});
    warning.warn({});
    warning.flush();
    expect(lines[1]).toMatchObject({ suppressedCount: 1, intervalMs: 60_000 });
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, MAX_TIMER_DELAY_MS + 1])(
    'rejects the interval %p',
    (intervalMs) => {
      const { logger } = captureLogger();
      expect(() => new RateLimitedWarning(logger, 'message', intervalMs)).toThrow(
        /^invalid intervalMs .*: use a number of ms above 0 and at most 2147483647$/,
      );
    },
  );

  it('accepts the maximum timer delay', () => {
    jest.useFakeTimers();
    const { logger, lines } = captureLogger();
    const warning = new RateLimitedWarning(logger, 'message', MAX_TIMER_DELAY_MS);

    warning.warn({});
    warning.warn({});
    jest.advanceTimersByTime(1_000);
    expect(lines).toHaveLength(1);
    warning.flush();
  });
});
