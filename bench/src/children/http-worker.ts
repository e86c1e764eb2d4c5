// The hand-written baseline of the HTTP dispatch path: a BullMQ Worker that posts each job
// to one endpoint through an undici Pool and completes it with the parsed response body.
// REQUEST_FORMAT picks the minimal request or Bullpen's own.
import type { Job } from 'bullmq';
import { Pool } from 'undici';
import { runBaselineWorker } from './baseline-worker';
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

  await runBaselineWorker(queueName, concurrency, post, () => pool.close());
}

main().catch((error: unknown) => {
  process.stderr.write(`hand-written HTTP worker failed: ${String(error)}\n`);
  process.exit(1);
});
