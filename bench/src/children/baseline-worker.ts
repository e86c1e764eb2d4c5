import { Worker, type Processor } from 'bullmq';
import { Redis } from 'ioredis';
import { reportToParent } from '../support/child-process';
import { requiredEnv } from './child-env';

/**
 * Runs a hand-written BullMQ Worker on `queueName` with `processor`, reports 'worker started' to
 * the parent, and on SIGTERM closes the worker, then `closeClient`, and exits 0.
 */
export async function runBaselineWorker(
  queueName: string,
  concurrency: number,
  processor: Processor,
  closeClient: () => Promise<unknown> | void,
): Promise<void> {
  const worker = new Worker(queueName, processor, {
    connection: new Redis(requiredEnv('REDIS_URL'), { maxRetriesPerRequest: null }),
    prefix: requiredEnv('QUEUE_PREFIX'),
    concurrency,
    autorun: false,
  });
  worker.on('error', (error) => process.stderr.write(`worker error: ${error.message}\n`));
  await worker.waitUntilReady();
  void worker.run();
  reportToParent({ msg: 'worker started', queue: queueName });

  process.once('SIGTERM', () => {
    void worker
      .close()
      .then(closeClient)
      .finally(() => process.exit(0));
  });
}
