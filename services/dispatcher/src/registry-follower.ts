import type { Redis } from 'ioredis';
import type { Logger, WorkerRegistry } from '@bullpen/core';
import type { Clock } from './invokers/call-context';
import { untilAborted } from './until-aborted';

/** Receives the registry's content; the queue workers implement it. */
export interface RegistrySink {
  /** Applies the stored value of one queue; `undefined` when the queue has none. */
  apply(queue: string, raw: string | undefined): void;
  /** Applies the whole registry; queues missing from `all` have no registration. */
  applyAll(all: ReadonlyMap<string, string>): void;
}

export interface RegistryFollowerSettings {
  readonly registry: WorkerRegistry;
  /** A connection used for nothing but the blocking XREAD of the change stream. */
  readonly blockingConnection: Redis;
  readonly sink: RegistrySink;
  readonly reconcileIntervalMs: number;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Maximum wait of one blocking read; default 5 s. */
  readonly blockMs?: number;
}

const DEFAULT_BLOCK_MS = 5_000;
const MIN_ERROR_BACKOFF_MS = 100;
const MAX_ERROR_BACKOFF_MS = 5_000;

/**
 * Keeps the sink in step with the worker registry: one full read at start, then the
 * change stream, plus a full read every `reconcileIntervalMs` that heals anything the
 * stream missed (a trimmed stream, a write made without the script).
 *
 * Everything runs in one loop, so a full read never interleaves with event handling and
 * a stale hash read cannot overwrite a newer one. A Redis error is logged and the loop
 * backs off and resumes; only `stop()` ends it.
 */
export class RegistryFollower {
  private readonly settings: RegistryFollowerSettings;
  private lastEventId = '0-0';
  private nextReconcileAtMs = 0;
  private stopped = false;
  private readonly stopController = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(settings: RegistryFollowerSettings) {
    this.settings = settings;
  }

  /**
   * Reads the registry once and starts following it. The stream's last id is taken before
   * the hash is read, so a change made between the two reads is replayed, never missed.
   */
  async start(): Promise<void> {
    this.lastEventId = await this.settings.registry.lastEventId();
    await this.reconcile();
    this.loop = this.follow();
  }

  /**
   * Ends the loop and waits for it to finish. A Redis call in progress is left behind rather
   * than awaited, so the stop does not wait for an unreachable Redis.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopController.abort();
    this.settings.blockingConnection.disconnect();
    await this.loop;
  }

  /** Settles as `call` does, or rejects as soon as `stop()` is called. */
  private untilStopped<T>(call: Promise<T>): Promise<T> {
    return untilAborted(call, this.stopController.signal);
  }

  private async follow(): Promise<void> {
    let backoffMs = MIN_ERROR_BACKOFF_MS;
    while (!this.stopped) {
      try {
        await this.step();
        backoffMs = MIN_ERROR_BACKOFF_MS;
      } catch (error) {
        if (this.stopped) break;
        this.settings.logger.warn(
          { err: error, retryInMs: backoffMs },
          'following the worker registry failed; retrying',
        );
        await sleep(backoffMs, this.stopController.signal);
        backoffMs = Math.min(backoffMs * 2, MAX_ERROR_BACKOFF_MS);
      }
    }
  }

  private async step(): Promise<void> {
    const { registry, blockingConnection, clock } = this.settings;
    if (clock.now() >= this.nextReconcileAtMs) await this.reconcile();

    const waitMs = Math.max(
      1,
      Math.min(this.settings.blockMs ?? DEFAULT_BLOCK_MS, this.nextReconcileAtMs - clock.now()),
    );
    if (blockingConnection.status === 'end') await this.untilStopped(blockingConnection.connect());
    const events = await this.untilStopped(
      registry.readEvents(this.lastEventId, waitMs, blockingConnection),
    );
    if (events.length === 0 || this.stopped) return;

    this.lastEventId = events[events.length - 1]!.id;
    const queues = new Set(events.map((event) => event.queue).filter((queue) => queue !== ''));
    for (const queue of queues) {
      this.settings.sink.apply(queue, await this.untilStopped(registry.getRaw(queue)));
    }
  }

  private async reconcile(): Promise<void> {
    const all = await this.untilStopped(this.settings.registry.readAllRaw());
    if (this.stopped) return;
    this.settings.sink.applyAll(all);
    this.nextReconcileAtMs = this.settings.clock.now() + this.settings.reconcileIntervalMs;
  }
}

/** Waits `ms`, or less when `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
