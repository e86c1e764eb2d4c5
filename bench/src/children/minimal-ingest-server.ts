// A reference for the ingest path: about the least an HTTP front for BullMQ can do. It checks
// the bearer token, parses the JSON array, adds the jobs (`Queue.add` for one, `addBulk` for
// more) and responds with their ids, without validation or job JSON. Bullpen's API pays for
// the same HTTP hop, so the gap between the two is Bullpen's own cost.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { reportToParent } from '../support/child-process';
import { requiredEnv } from './child-env';

interface JobBody {
  name: string;
  data?: unknown;
}

async function main(): Promise<void> {
  const connection = new Redis(requiredEnv('REDIS_URL'), { maxRetriesPerRequest: 1 });
  const prefix = requiredEnv('QUEUE_PREFIX');
  const expectedAuthorization = `Bearer ${requiredEnv('AUTH_TOKEN')}`;
  const queues = new Map<string, Queue>();
  const queueFor = (name: string) => {
    let queue = queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection, prefix });
      queues.set(name, queue);
    }
    return queue;
  };

  const addJobs = async (queueName: string, jobs: JobBody[]): Promise<string> => {
    const queue = queueFor(queueName);
    const added =
      jobs.length === 1
        ? [await queue.add(jobs[0]!.name, jobs[0]!.data ?? null)]
        : await queue.addBulk(jobs.map((job) => ({ name: job.name, data: job.data ?? null })));
    return JSON.stringify(added.map((job) => ({ id: job.id })));
  };

  const server = http.createServer((request, response) => {
    const match = /^\/queues\/([^/]+)\/jobs$/.exec(request.url ?? '');
    if (request.method !== 'POST' || !match) {
      response.writeHead(404).end();
      return;
    }
    if (request.headers.authorization !== expectedAuthorization) {
      response.writeHead(401).end();
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      addJobs(decodeURIComponent(match[1]!), JSON.parse(Buffer.concat(chunks).toString()))
        .then((body) => {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(body);
        })
        .catch(() => response.writeHead(500).end());
    });
  });
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  reportToParent({ msg: 'api listening', url: `http://127.0.0.1:${port}` });

  process.once('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    void Promise.allSettled([...queues.values()].map((queue) => queue.close())).then(() => {
      connection.disconnect();
      process.exit(0);
    });
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`minimal ingest server failed: ${String(error)}\n`);
  process.exit(1);
});
