// The hand-written baseline of the HTTP dispatch path: a BullMQ Worker that posts each job
// to one endpoint through an undici Pool and completes it with the parsed response body.
// REQUEST_FORMAT picks the minimal request or Bullpen's own.
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { reportToParent } from '../support/child-process';
import { requiredEnv, requiredIntegerEnv } from './child-env';
import { readRequestFormat, requestBody, requestHeaders } from './request-format';

async function main(): Promise<void> {
  const queueName = requiredEnv('QUEUE');
  const concurrency = requiredIntegerEnv('CONCURRENCY');
  const format = readRequestFormat(process.env.REQUEST_FORMAT);
  const endpoint = new URL(requiredEnv('ENDPOINT_URL'));
  const pool = new Pool(endpoint.origin, { connections: concurrency });

  const post = async (job: Job, token?: string): Promise<unknown> => {
    const { statusCode, body } = await pool.request({
      path: endpoint.pathname,
      method: 'POST',
      headers: requestHeaders(format, queueName, job),
      body: requestBody(format, queueName, job, token),
    });
    const text = await body.text();
    if (statusCode < 200 || statusCode >= 300)
      throw new Error(`endpoint returned HTTP ${statusCode}`);
    return text === '' ? null : JSON.parse(text);
  };

  const worker = new Worker(queueName, post, {
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
    void Promise.allSettled([worker.close(), pool.close()]).then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`hand-written HTTP worker failed: ${String(error)}\n`);
  process.exit(1);
});
