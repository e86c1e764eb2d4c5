import { Worker, isNotConnectionError, type Job, type RedisClient, type Span } from 'bullmq';

/**
 * Delay before the worker requests the next job again after Redis rejected the last
 * request. Jobs already running continue during it.
 */
export const FETCH_RETRY_DELAY_MS = 1_000;

/**
 * A BullMQ Worker whose job fetch waits before it retries after a Redis error.
 *
 * BullMQ 5.81's fetch loop waits only after a lost connection. After any other error it
 * emits `error` and retries at once. Redis rejects every move to active when it is out of
 * memory under `noeviction`, for example. A dispatcher with 300 waiting jobs then sent about
 * 8,200 failing scripts a second, using 70 % of a core, and Redis used 37 %. With this delay, a
 * worker with jobs waiting retries once per FETCH_RETRY_DELAY_MS. An idle worker goes back to
 * its blocking wait for new jobs, up to BullMQ's `drainDelay` (5 s), before it fetches again.
 * When the worker starts closing, the delay ends at once and the error returns to BullMQ.
 */
export class DispatchWorker extends Worker {
  protected override async moveToActive(
    client: RedisClient,
    token: string,
    name?: string,
  ): Promise<Job> {
    try {
      return await super.moveToActive(client, token, name);
    } catch (error) {
      if (error instanceof Error && isNotConnectionError(error)) {
        await this.waitUnlessClosing(FETCH_RETRY_DELAY_MS);
      }
      throw error;
    }
  }

  protected override handleCompleted(
    result: unknown,
    job: Job,
    token: string,
    fetchNextCallback?: () => boolean,
    span?: Span,
  ): Promise<Job> {
    return this.withoutRetryWhileClosing(() =>
      super.handleCompleted(result, job, token, fetchNextCallback, span),
    );
  }

  protected override handleFailed(
    failure: Error,
    job: Job,
    token: string,
    fetchNextCallback?: () => boolean,
    span?: Span,
  ): Promise<Job> {
    return this.withoutRetryWhileClosing(() =>
      super.handleFailed(failure, job, token, fetchNextCallback, span),
    );
  }

  /**
   * Runs a job's move to completed or failed, the move BullMQ retries after a connection
   * error without limit. While the worker closes, BullMQ 5.81 retries it without a pause.
   * Once the dispatcher has ended the connection, every retry failed at once, so the retries
   * kept a core busy and the close never finished. During a close, such an error is therefore
   * rethrown as one that BullMQ does not retry. The job stays active in Redis and runs again
   * once BullMQ finds it stalled.
   */
  private async withoutRetryWhileClosing(move: () => Promise<Job>): Promise<Job> {
    try {
      return await move();
    } catch (error) {
      if (!this.closing || !(error instanceof Error) || isNotConnectionError(error)) throw error;
      // BullMQ retries any error whose message contains ECONNREFUSED, so the message leaves
      // the original out, and `cause` keeps it.
      throw new Error('Redis connection lost while the worker was closing', { cause: error });
    }
  }

  /** Resolves after `delayMs`, or as soon as the worker starts closing. */
  private waitUnlessClosing(delayMs: number): Promise<void> {
    if (this.closing) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.off('closing', finish);
        resolve();
      };
      const timer = setTimeout(finish, delayMs);
      this.once('closing', finish);
    });
  }
}
