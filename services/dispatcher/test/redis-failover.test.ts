import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startPrivateRedis, type PrivateRedis } from '../../../test/support/redis';
import { startRedisProxy, type RedisProxy } from '../../../test/support/redis-proxy';
import type { Dispatcher } from '../src';
import {
  respondOk,
  startEndpointServer,
  waitFor,
  type EndpointServer,
} from './support/endpoint-server';
import { register, startTestDispatcher } from './support/test-dispatcher';

// Runs a dispatcher through a proxy to a private redis-server, then plays a failover: the old
// primary becomes a replica of the new one, and the address now leads to the new primary. The dispatcher's open connections still reach the old primary, which rejects
// every write with READONLY, so the dispatcher must reconnect to run jobs again.

const PREFIX = 'dispatcher-failover';
const QUEUE = 'moved';
/** Time allowed for a job to complete, before and after the failover. */
const COMPLETE_WITHIN_MS = 30_000;

let oldPrimary: PrivateRedis;
let newPrimary: PrivateRedis;
let proxy: RedisProxy;
let endpoint: EndpointServer;
let dispatcher: Dispatcher | undefined;
const clients: Redis[] = [];
const queues: Queue[] = [];

function openQueue(redis: PrivateRedis): Queue {
  const client = new Redis(redis.url, { maxRetriesPerRequest: null });
  clients.push(client);
  const queue = new Queue(QUEUE, { connection: client, prefix: PREFIX });
  queues.push(queue);
  return queue;
}

beforeAll(async () => {
  oldPrimary = await startPrivateRedis();
  newPrimary = await startPrivateRedis();
  proxy = await startRedisProxy(oldPrimary.port);
  endpoint = await startEndpointServer(respondOk);
});

afterAll(async () => {
  await dispatcher?.close();
  for (const queue of queues) await queue.close();
  for (const client of clients) client.disconnect();
  await endpoint.close();
  await proxy.close();
  await oldPrimary.stop();
  await newPrimary.stop();
});

async function expectCompleted(queue: Queue, jobId: string | undefined): Promise<void> {
  await waitFor(
    async () => (await queue.getJobState(String(jobId))) === 'completed',
    COMPLETE_WITHIN_MS,
    `job ${jobId} to complete`,
  );
}

test('failover to a new primary runs jobs again', async () => {
  const registration = { queue: QUEUE, endpoint: { url: `${endpoint.url}/run` } };
  const before = openQueue(oldPrimary);
  const after = openQueue(newPrimary);
  // The new primary contains the registration, as a promoted replica would.
  await register(before.opts.connection as Redis, PREFIX, registration);
  await register(after.opts.connection as Redis, PREFIX, registration);
  dispatcher = await startTestDispatcher(PREFIX, { REDIS_URL: proxy.url });
  const first = await before.add('before', { step: 'before' });
  await expectCompleted(before, first.id);

  const demoted = clients[0] as Redis;
  await demoted.replicaof('127.0.0.1', String(newPrimary.port));
  await waitFor(
    async () => /master_link_status:up/.test(await demoted.info('replication')),
    COMPLETE_WITHIN_MS,
    'the replica to link to its primary',
  );
  proxy.retarget(newPrimary.port);
  const second = await after.add('after', { step: 'after' });

  await expectCompleted(after, second.id);
  const steps = endpoint.calls.map((call) => call.body.job.data.step as string);
  expect(steps).toEqual(['before', 'after']);
}, 90_000);
