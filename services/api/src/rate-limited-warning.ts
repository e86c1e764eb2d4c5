import type { Logger } from '@bullpen/core';

/** Maximum delay of a Node.js timer. Node.js runs a timer with a longer delay after 1 ms. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * A warn line for an event that can repeat many times a second, such as a 503 for each
 * request while Redis is down. The first event is logged at once with its fields. Events in
 * the `intervalMs` after it are only counted, and when the interval ends one line with the
 * same message reports their number as `suppressedCount`. Counting continues in new
 * intervals while the events go on. After an interval with none, the next event is logged
 * at once again.
 */
export class RateLimitedWarning {
  private suppressedCount = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly message: string,
    private readonly intervalMs: number,
  ) {
    if (!Number.isFinite(intervalMs) || intervalMs <= 0 || intervalMs > MAX_TIMER_DELAY_MS) {
      throw new RangeError(
        `invalid intervalMs ${intervalMs}: use a number of ms above 0 and at most ${MAX_TIMER_DELAY_MS}`,
      );
    }
  }

  warn(fields: Record<string, unknown>): void {
    if (this.timer) {
      this.suppressedCount += 1;
      return;
    }
    this.logger.warn(fields, this.message);
    this.startInterval();
  }

  /** Writes the count of the running interval now and stops its timer, for shutdown. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writeSuppressedCount();
  }

  private startInterval(): void {
    this.timer = setTimeout(() => this.endInterval(), this.intervalMs);
    // A pending count must not keep the process alive; `flush` writes it on shutdown.
    this.timer.unref();
  }

  private endInterval(): void {
    this.timer = undefined;
    if (this.suppressedCount === 0) return;
    this.writeSuppressedCount();
    this.startInterval();
  }

  private writeSuppressedCount(): void {
    if (this.suppressedCount === 0) return;
    this.logger.warn(
      { suppressedCount: this.suppressedCount, intervalMs: this.intervalMs },
      this.message,
    );
    this.suppressedCount = 0;
  }
}
