import type { Logger } from '@bullpen/core';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * BullMQ Queue objects by name, sharing one connection. A Queue is cheap but not free (it
 * loads scripts and holds listeners), so the cache keeps the most recently used ones.
 */
export class QueueCache {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly maxQueues = 1000,
  ) {}

  get(name: string): Queue {
    const cached = this.queues.get(name);
    if (cached) {
      // Re-inserting moves the entry to the end, so the first entry is the least recent.
      this.queues.delete(name);
      this.queues.set(name, cached);
      return cached;
    }

    const queue = new Queue(name, { connection: this.connection, prefix: this.prefix });
    queue.on('error', (error) => this.logger.warn({ queue: name, err: error }, 'queue error'));
    // BullMQ 5.81 reads the Redis version once, when the Queue is created. If that read
    // fails, for example while Redis is paused, every later call on the Queue fails with
    // the same error, so the Queue is dropped and the next request builds a new one.
    queue.waitUntilReady().catch(() => this.forget(name, queue));
    this.queues.set(name, queue);
    this.evictOverflow();
    return queue;
  }

  private forget(name: string, queue: Queue): void {
    if (this.queues.get(name) !== queue) return;
    this.queues.delete(name);
    this.logger.warn({ queue: name }, 'dropping queue whose connection check failed');
    queue.close().catch(() => undefined);
  }

  private evictOverflow(): void {
    while (this.queues.size > this.maxQueues) {
      const [oldestName, oldest] = this.queues.entries().next().value as [string, Queue];
      this.queues.delete(oldestName);
      // The connection is shared, so closing only drops the Queue's listeners.
      oldest.close().catch(() => undefined);
    }
  }

  async closeAll(): Promise<void> {
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.allSettled(queues.map((queue) => queue.close()));
  }
}
