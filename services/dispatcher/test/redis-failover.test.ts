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
// primary becomes a replica of the new one, and the address now leads to the new primary.
// The dispatcher's open connections still reach the old primary, which rejects every write
// with READONLY, so each of them must reconnect to run jobs again.

const PREFIX = 'dispatcher-failover';
/**
 * Queues of the dispatcher, each with a blocking connection of its own. Reconnecting them one
 * at a time, a second apart, would take longer than COMPLETE_WITHIN_MS.
 */
const QUEUE_NAMES = Array.from({ length: 40 }, (_, index) => `moved-${index}`);
/** Time allowed for the jobs to complete, before and after the failover. */
const COMPLETE_WITHIN_MS = 30_000;

let oldPrimary: PrivateRedis;
let newPrimary: PrivateRedis;
let proxy: RedisProxy;
let endpoint: EndpointServer;
let dispatcher: Dispatcher | undefined;
const clients: Redis[] = [];
const queues: Queue[] = [];

/** Opens a client of `redis` and a Queue handle on it for every queue name. */
function openQueues(redis: PrivateRedis): { client: Redis; handles: Queue[] } {
  const client = new Redis(redis.url, { maxRetriesPerRequest: null });
  clients.push(client);
  const handles = QUEUE_NAMES.map(
    (name) => new Queue(name, { connection: client, prefix: PREFIX }),
  );
  queues.push(...handles);
  return { client, handles };
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

/** Adds one job named `step` to every queue and waits until all of them completed. */
async function expectEveryQueueRuns(handles: Queue[], step: string): Promise<void> {
  const jobs = await Promise.all(handles.map((queue) => queue.add(step, { step })));
  await waitFor(
    async () => {
      const states = await Promise.all(
        jobs.map((job, index) => handles[index]!.getJobState(String(job.id))),
      );
      return states.every((state) => state === 'completed');
    },
    COMPLETE_WITHIN_MS,
    `the "${step}" job of each of ${handles.length} queues to complete`,
  );
}

test('failover to a new primary runs jobs again', async () => {
  const before = openQueues(oldPrimary);
  const after = openQueues(newPrimary);
  // The new primary contains the registrations, as a promoted replica would.
  for (const queue of QUEUE_NAMES) {
    const registration = { queue, endpoint: { url: `${endpoint.url}/run` } };
    await register(before.client, PREFIX, registration);
    await register(after.client, PREFIX, registration);
  }
  dispatcher = await startTestDispatcher(PREFIX, { REDIS_URL: proxy.url });
  await expectEveryQueueRuns(before.handles, 'before');

  await before.client.replicaof('127.0.0.1', String(newPrimary.port));
  await waitFor(
    async () => /master_link_status:up/.test(await before.client.info('replication')),
    COMPLETE_WITHIN_MS,
    'the replica to link to its primary',
  );
  proxy.retarget(newPrimary.port);

  await expectEveryQueueRuns(after.handles, 'after');
  const steps = endpoint.calls.map((call) => call.body.job.data.step as string);
  expect(steps.filter((step) => step === 'before')).toHaveLength(QUEUE_NAMES.length);
  expect(steps.filter((step) => step === 'after')).toHaveLength(QUEUE_NAMES.length);
}, 120_000);
