import type { Redis } from 'ioredis';
import { Queue, type Job, type Worker } from 'bullmq';
import {
  normalizedRegistrationSchema,
  withoutRedisCommandArguments,
  type Logger,
  type WorkerRegistration,
} from '@bullpen/core';
import { DispatchWorker } from './dispatch-worker';
import { createJobProcessor, type JobDispatchSettings, type QueueBinding } from './job-processor';
import type { DispatcherMetrics } from './metrics';
import type { RegistrySink } from './registry-follower';
import { canUpdateInPlace, workerOptionsFor } from './worker-options';

export interface QueueWorkersSettings {
  /** Shared by every worker and queue handle for non-blocking commands. */
  readonly connection: Redis;
  readonly queuePrefix: string;
  readonly dispatch: JobDispatchSettings;
  readonly metrics: DispatcherMetrics;
  readonly logger: Logger;
}

interface DesiredRegistration {
  readonly raw: string;
  readonly registration: WorkerRegistration;
}

interface RunningQueue {
  raw: string;
  readonly binding: QueueBinding;
  readonly worker: Worker;
  /** Queue handle for global concurrency and job counts. */
  readonly queue: Queue;
}

interface QueueSlot {
  readonly name: string;
  desired?: DesiredRegistration;
  running?: RunningQueue;
  /** Last stored value that failed validation, so each bad value is logged once. */
  invalidRaw?: string;
  /** Last valid value that BullMQ rejected, so it is not retried on every reconcile. */
  startFailedRaw?: string;
  settling?: Promise<void>;
}

/** Minimum time between two logged `error` events with the same message, over all queues. */
const WORKER_ERROR_LOG_INTERVAL_MS = 10_000;
/** Distinct error messages tracked at once; the table starts afresh beyond it. */
const MAX_TRACKED_ERROR_MESSAGES = 1_000;

type ParseResult =
  | { ok: true; registration: WorkerRegistration }
  | { ok: false; issues: Array<{ path: string; message: string }> };

/**
 * Validates a stored registration. Issues carry the field path and zod's message but never
 * the value, because a value may be a header secret.
 */
export function parseStoredRegistration(queue: string, raw: string): ParseResult {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    return {
      ok: false,
      issues: [{ path: '(value)', message: `invalid JSON: ${(error as Error).message}` }],
    };
  }
  const result = normalizedRegistrationSchema.safeParse(json);
  if (!result.success) {
    return {
      ok: false,
      issues: result.error.issues.map((issue) => ({
        path: issue.path.length === 0 ? '(value)' : issue.path.map(String).join('.'),
        message: issue.message,
      })),
    };
  }
  if (result.data.queue !== queue) {
    return {
      ok: false,
      issues: [{ path: 'queue', message: `names another queue than the hash field "${queue}"` }],
    };
  }
  return { ok: true, registration: result.data };
}

/**
 * One BullMQ Worker per registered queue. Each queue moves towards its desired
 * registration one step at a time, so a replaced worker is closed, and its in-flight
 * calls finished, before the next one takes jobs: the queue never runs at twice its
 * concurrency. Endpoint and concurrency changes apply to the running worker instead.
 */
export class QueueWorkers implements RegistrySink {
  private readonly settings: QueueWorkersSettings;
  private readonly slots = new Map<string, QueueSlot>();
  private closing = false;
  /** When each error message was last logged, and how many lines were left out since. */
  private readonly loggedErrors = new Map<string, { lastLoggedMs: number; suppressed: number }>();

  constructor(settings: QueueWorkersSettings) {
    this.settings = settings;
  }

  apply(queue: string, raw: string | undefined): void {
    if (this.closing) return;
    const slot = this.slotFor(queue);
    this.updateDesired(slot, raw);
    this.settle(slot);
    this.forgetIfIdle(slot);
  }

  applyAll(all: ReadonlyMap<string, string>): void {
    for (const [queue, raw] of all) this.apply(queue, raw);
    for (const queue of this.slots.keys()) {
      if (!all.has(queue)) this.apply(queue, undefined);
    }
  }

  /** Names of the queues with a running worker, sorted. */
  runningQueues(): string[] {
    return [...this.slots.values()]
      .filter((slot) => slot.running)
      .map((slot) => slot.name)
      .sort();
  }

  /** Counts the queues with a running worker, without building and sorting their names. */
  private countRunning(): number {
    let count = 0;
    for (const slot of this.slots.values()) {
      if (slot.running) count += 1;
    }
    return count;
  }

  /** Queue handles of the running workers, for job counts. */
  runningQueueHandles(): Queue[] {
    return [...this.slots.values()].flatMap((slot) => (slot.running ? [slot.running.queue] : []));
  }

  /**
   * Stops every worker from fetching jobs and resolves once their in-flight calls have
   * finished and the workers are closed. No registration change applies after this call.
   */
  async closeAll(): Promise<void> {
    this.closing = true;
    const closings = [...this.slots.values()].map(async (slot) => {
      await slot.settling;
      if (slot.running) await this.stopQueue(slot, slot.running, 'dispatcher shutdown');
    });
    await Promise.all(closings);
  }

  /**
   * Forgets the workers still closing after closeAll(), once their connections have been
   * ended. Their closes may never finish, and none of them fetches jobs any more.
   */
  forgetClosingWorkers(): void {
    for (const slot of this.slots.values()) slot.running = undefined;
    this.settings.metrics.workers.set(0);
  }

  private slotFor(queue: string): QueueSlot {
    let slot = this.slots.get(queue);
    if (!slot) {
      slot = { name: queue };
      this.slots.set(queue, slot);
    }
    return slot;
  }

  private updateDesired(slot: QueueSlot, raw: string | undefined): void {
    if (raw === undefined) {
      slot.desired = undefined;
      slot.invalidRaw = undefined;
      slot.startFailedRaw = undefined;
      return;
    }
    if (raw === slot.desired?.raw || raw === slot.invalidRaw) return;

    const parsed = parseStoredRegistration(slot.name, raw);
    if (!parsed.ok) {
      slot.invalidRaw = raw;
      slot.desired = undefined;
      this.settings.metrics.registrationsRejected.inc({ queue: slot.name });
      this.settings.logger.error(
        { queue: slot.name, issues: parsed.issues },
        'invalid worker registration skipped; the queue has no worker until it is registered again',
      );
      return;
    }
    slot.invalidRaw = undefined;
    slot.desired = { raw, registration: parsed.registration };
  }

  private settle(slot: QueueSlot): void {
    if (slot.settling || this.closing) return;
    slot.settling = this.moveTowardsDesired(slot)
      .catch((error: unknown) => {
        this.settings.logger.error(
          { queue: slot.name, err: error },
          'changing the worker of a queue failed; the next registry change or reconcile retries',
        );
      })
      .finally(() => {
        slot.settling = undefined;
        // A change that arrived while the last step was finishing still needs its turn.
        if (!this.closing && needsChange(slot)) this.settle(slot);
        this.forgetIfIdle(slot);
      });
  }

  /** Drops the slot of a queue that has no registration, no worker and nothing pending. */
  private forgetIfIdle(slot: QueueSlot): void {
    if (slot.settling || slot.running || slot.desired || slot.invalidRaw !== undefined) return;
    if (this.slots.get(slot.name) === slot) this.slots.delete(slot.name);
  }

  private async moveTowardsDesired(slot: QueueSlot): Promise<void> {
    while (!this.closing && needsChange(slot)) {
      const desired = slot.desired;
      const running = slot.running;

      if (
        running &&
        desired &&
        canUpdateInPlace(running.binding.registration, desired.registration)
      ) {
        await this.updateInPlace(slot, running, desired);
      } else if (running) {
        await this.stopQueue(
          slot,
          running,
          desired ? 'registration replaced' : 'registration removed',
        );
      } else if (desired) {
        await this.startQueue(slot, desired);
      }
    }
  }

  private async startQueue(slot: QueueSlot, desired: DesiredRegistration): Promise<void> {
    const { registration } = desired;
    const binding: QueueBinding = { registration };
    let worker: Worker;
    try {
      worker = new DispatchWorker(
        slot.name,
        createJobProcessor(slot.name, binding, this.settings.dispatch),
        workerOptionsFor(registration, {
          connection: this.settings.connection,
          prefix: this.settings.queuePrefix,
        }),
      );
    } catch (error) {
      slot.startFailedRaw = desired.raw;
      this.settings.metrics.registrationsRejected.inc({ queue: slot.name });
      this.settings.logger.error(
        { queue: slot.name, err: error },
        'BullMQ rejected the worker registration; the queue is skipped',
      );
      return;
    }
    binding.worker = worker;
    worker.on('error', this.workerErrorLogger(slot.name));
    // A stalled job lost its lock, usually because the dispatcher that ran it died. BullMQ
    // moves it back to waiting and it runs again, so the endpoint gets a second call. A job that
    // stalled more than `maxStalledCount` times is marked to fail when next fetched (BullMQ 5.81).
    worker.on('stalled', (jobId: string) => {
      this.settings.logger.warn({ queue: slot.name, jobId }, 'stalled job moved back to waiting');
    });
    // BullMQ fails such a job without calling the processor, so no other line records it.
    worker.on('failed', (job: Job | undefined, error: Error) => {
      if (!job?.deferredFailure) return;
      this.settings.logger.warn(
        {
          queue: slot.name,
          jobId: job.id,
          stalledCounter: job.stalledCounter,
          attemptsMade: job.attemptsMade,
          reason: error.message,
        },
        'job failed without a call: it stalled more than maxStalledCount times',
      );
    });

    const queue = new Queue(slot.name, {
      connection: this.settings.connection,
      prefix: this.settings.queuePrefix,
    });
    queue.on('error', this.workerErrorLogger(slot.name));
    slot.running = { raw: desired.raw, binding, worker, queue };
    slot.startFailedRaw = undefined;
    this.settings.metrics.workers.set(this.countRunning());

    await this.applyGlobalConcurrency(slot.name, queue, registration.opts.globalConcurrency);
    if (this.closing) return;
    worker.run().catch((error: unknown) => {
      this.settings.logger.error({ queue: slot.name, err: error }, 'worker stopped with an error');
    });
    this.settings.logger.info(
      {
        queue: slot.name,
        endpointType: registration.endpoint.type,
        concurrency: worker.concurrency,
      },
      'worker started',
    );
  }

  private async updateInPlace(
    slot: QueueSlot,
    running: RunningQueue,
    desired: DesiredRegistration,
  ): Promise<void> {
    const previous = running.binding.registration;
    running.binding.registration = desired.registration;
    running.raw = desired.raw;

    const concurrency = desired.registration.opts.concurrency ?? 1;
    if (running.worker.concurrency !== concurrency) running.worker.concurrency = concurrency;
    if (previous.opts.globalConcurrency !== desired.registration.opts.globalConcurrency) {
      await this.applyGlobalConcurrency(
        slot.name,
        running.queue,
        desired.registration.opts.globalConcurrency,
      );
    }
    this.settings.logger.info(
      { queue: slot.name, endpointType: desired.registration.endpoint.type, concurrency },
      'worker registration updated in place',
    );
  }

  private async stopQueue(slot: QueueSlot, running: RunningQueue, reason: string): Promise<void> {
    this.settings.logger.info(
      { queue: slot.name, reason },
      'worker closing; waiting for in-flight calls',
    );
    await waitUntilConnected(running);
    try {
      await running.worker.close();
    } finally {
      await running.queue.close().catch((error: unknown) => {
        this.settings.logger.warn(
          { queue: slot.name, err: error },
          'closing the queue handle failed',
        );
      });
      if (slot.running === running) slot.running = undefined;
      this.settings.metrics.workers.set(this.countRunning());
    }
    this.settings.logger.info({ queue: slot.name, reason }, 'worker closed');
  }

  private async applyGlobalConcurrency(
    queueName: string,
    queue: Queue,
    globalConcurrency: number | undefined,
  ): Promise<void> {
    try {
      if (globalConcurrency === undefined) await queue.removeGlobalConcurrency();
      else await queue.setGlobalConcurrency(globalConcurrency);
    } catch (error) {
      this.settings.logger.error(
        { queue: queueName, globalConcurrency, err: error },
        'setting the global concurrency failed; the worker runs with its local concurrency only',
      );
    }
  }

  /**
   * Logs the `error` events of one queue's worker and queue handle. A message is logged at most
   * once per interval over all queues, with the count of lines left out since, unless over
   * 1,000 distinct messages arrive in between and the table starts afresh. While Redis is
   * down, every worker reports the same connection error, so 1,000 queues would otherwise
   * write 1,000 lines per interval.
   */
  private workerErrorLogger(queue: string): (error: Error) => void {
    return (error) => {
      const nowMs = this.settings.dispatch.clock.now();
      // A prefix keeps the table small when a message carries a job's data.
      const key = error.message.slice(0, 200);
      const seen = this.loggedErrors.get(key);
      if (seen && nowMs - seen.lastLoggedMs < WORKER_ERROR_LOG_INTERVAL_MS) {
        seen.suppressed += 1;
        return;
      }
      this.settings.logger.error(
        { queue, err: withoutRedisCommandArguments(error), suppressed: seen?.suppressed ?? 0 },
        'worker error',
      );
      if (!seen && this.loggedErrors.size >= MAX_TRACKED_ERROR_MESSAGES) this.loggedErrors.clear();
      this.loggedErrors.set(key, { lastLoggedMs: nowMs, suppressed: 0 });
    };
  }
}

/** Time allowed to a new worker's connections to finish connecting before it is closed. */
const CONNECT_WAIT_BEFORE_CLOSE_MS = 5_000;

/**
 * Waits until the worker's and queue handle's connections have finished connecting. BullMQ
 * 5.81 removes a connection's listeners on close and then emits the failure of a connect
 * still in progress, which surfaces as an unhandled rejection that stops the process. The
 * wait is bounded because a connect to an unreachable Redis never finishes.
 */
async function waitUntilConnected(running: RunningQueue): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ready = Promise.all([running.worker.waitUntilReady(), running.queue.waitUntilReady()]);
  await Promise.race([
    ready.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CONNECT_WAIT_BEFORE_CLOSE_MS);
    }),
  ]);
  clearTimeout(timer);
}

/** Returns whether the slot's running worker differs from the registered one. */
function needsChange(slot: QueueSlot): boolean {
  if (slot.desired?.raw === slot.running?.raw) return false;
  // A registration BullMQ rejected stays skipped until the stored value changes.
  if (!slot.running && slot.desired?.raw === slot.startFailedRaw) return false;
  return true;
}
