import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { Redis } from 'ioredis';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startLocalRedis } = require('../../scripts/lib/local-redis.cjs');

/** REDIS_URL as set by jest's global setup (the machine's Redis or a private one). */
export function testRedisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set; run the tests through jest global setup');
  return url;
}

/** Creates a queue prefix no other test uses, so tests can share one Redis. */
export function uniquePrefix(label: string): string {
  return `test-${label}-${crypto.randomBytes(4).toString('hex')}`;
}

/** Creates a queue name no other test uses. */
export function uniqueQueue(label: string): string {
  return `${label}-${crypto.randomBytes(4).toString('hex')}`;
}

/** Deletes every key that starts with `pattern` prefix, SCANning so Redis is not blocked. */
export async function deleteKeys(redis: Redis, matchPattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', matchPattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/** Deletes the BullMQ queue keys and registry keys of a test prefix. */
export async function cleanupPrefix(redis: Redis, prefix: string): Promise<void> {
  await deleteKeys(redis, `${prefix}:*`);
  await deleteKeys(redis, `{bullpen:${prefix}}:*`);
}

export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts a redis-server of the test's own, for tests that stop or restart Redis. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  return startInTempDir();
}

/**
 * Starts a private Redis that is a replica of a stopped one, so that it rejects every write
 * with READONLY, as an old primary does after a failover.
 */
export async function startReadOnlyReplica(): Promise<PrivateRedis> {
  const stoppedPrimary = await startPrivateRedis();
  await stoppedPrimary.stop();
  const replica = await startPrivateRedis();
  const admin = new Redis(replica.url, { maxRetriesPerRequest: 1 });
  try {
    await admin.replicaof('127.0.0.1', String(stoppedPrimary.port));
  } catch (error) {
    await replica.stop();
    throw error;
  } finally {
    admin.disconnect();
  }
  return replica;
}

/** Starts redis-server again on a given port, to bring a stopped private Redis back. */
export async function restartPrivateRedisOnPort(port: number): Promise<PrivateRedis> {
  return startInTempDir(port);
}

/**
 * Starts redis-server with a new temporary folder for its log, and removes the folder when
 * the server stops. A server that fails to start keeps its folder, whose log the error names.
 */
async function startInTempDir(port?: number): Promise<PrivateRedis> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bullpen-private-redis-'));
  const redis: PrivateRedis = await startLocalRedis({ dataDir, port });
  return {
    url: redis.url,
    port: redis.port,
    stop: async () => {
      await redis.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
