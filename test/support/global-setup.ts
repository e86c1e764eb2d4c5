import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startLocalRedis } = require('../../scripts/lib/local-redis.cjs');

/**
 * Points every test at REDIS_URL, or at a private redis-server started here when it is unset.
 * Jest starts its workers after this runs, so they inherit the variable.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.REDIS_URL) return;

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bullpen-test-redis-'));
  const redis = await startLocalRedis({ dataDir });
  process.env.REDIS_URL = redis.url;
  (globalThis as Record<string, unknown>).__bullpenRedis = redis;
  (globalThis as Record<string, unknown>).__bullpenRedisDataDir = dataDir;
}
