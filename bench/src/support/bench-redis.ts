import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registryKeys } from '@bullpen/core';
import { Redis } from 'ioredis';
import { onInterrupt } from './interrupt';

const { startLocalRedis } = require('../../../scripts/lib/local-redis.cjs') as {
  startLocalRedis(options: { dataDir: string; detached?: boolean }): Promise<{
    url: string;
    pid: number;
    stop(): Promise<void>;
  }>;
};

/** The Redis a benchmark run uses, with the key prefix that keeps its keys apart. */
export interface BenchRedis {
  readonly url: string;
  /** BullMQ queue prefix of every queue in this run. */
  readonly prefix: string;
  /** Process id of the private redis-server; undefined when REDIS_URL names a shared one. */
  readonly pid: number | undefined;
  /** Whether the Redis was started by this run, so other clients cannot skew its figures. */
  readonly isPrivate: boolean;
  /** Connection for the orchestrating process's own reads and clean-up. */
  readonly client: Redis;
  readonly version: string;
  /** Deletes the keys of one queue. */
  deleteQueueKeys(queue: string): Promise<void>;
  /** Deletes every key of the run and stops a private Redis. Later calls return the first call's promise. */
  close(): Promise<void>;
}

/**
 * Connects to REDIS_URL, or starts a private redis-server on a free loopback port when it is
 * unset. Every key of the run carries a fresh prefix, so a shared Redis keeps its data. When
 * the bench is interrupted, the Redis is closed after the processes that use it have stopped.
 */
export async function openBenchRedis(redisUrl: string | undefined): Promise<BenchRedis> {
  const dataDir = redisUrl ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'bullpen-bench-'));
  const removeDataDir = () => {
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };
  // In a process group of its own, so that a terminal's Ctrl-C reaches only the bench and its
  // services, and the keys can still be deleted while they stop.
  const starting = dataDir ? startLocalRedis({ dataDir, detached: true }) : undefined;
  // A signal during the start stops the server once it runs.
  const removeStartCleanup = onInterrupt(async () => {
    const started = await starting?.catch(() => undefined);
    await started?.stop();
    removeDataDir();
  }, removeDataDir);
  const local = await starting;
  const url = local?.url ?? (redisUrl as string);
  const client = new Redis(url, { maxRetriesPerRequest: 3, connectionName: 'bullpen-bench' });
  const prefix = `bench-${crypto.randomBytes(4).toString('hex')}`;
  const info = await client.info('server');
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';

  let closing: Promise<void> | undefined;
  const close = async () => {
    // When the private Redis has gone already, the deletes fail, and its folder still goes.
    try {
      await deleteMatchingKeys(client, `${escapeGlob(prefix)}:*`);
      const registry = registryKeys(prefix);
      await client.unlink(registry.workers, registry.events);
    } finally {
      client.disconnect();
      await local?.stop();
      removeDataDir();
    }
  };
  const closeOnce = () => (closing ??= close());
  removeStartCleanup();
  onInterrupt(closeOnce, () => {
    // The server runs in a process group of its own, so nothing else would stop it.
    if (local) process.kill(local.pid, 'SIGKILL');
    removeDataDir();
  });

  return {
    url,
    prefix,
    pid: local?.pid,
    isPrivate: local !== undefined,
    client,
    version,
    deleteQueueKeys: (queue) => deleteMatchingKeys(client, `${escapeGlob(`${prefix}:${queue}`)}:*`),
    close: closeOnce,
  };
}

/** Deletes every key matching a glob, with SCAN so a large queue does not block Redis. */
async function deleteMatchingKeys(client: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
    cursor = next;
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== '0');
}

/** Escapes the characters SCAN MATCH treats as glob syntax; queue names may hold braces. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
