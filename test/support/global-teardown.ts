import fs from 'node:fs';

/** Stops the private redis-server that global setup started, if any, and deletes its folder. */
export default async function globalTeardown(): Promise<void> {
  const shared = globalThis as Record<string, unknown>;
  const redis = shared.__bullpenRedis as { stop: () => Promise<void> } | undefined;
  await redis?.stop();
  const dataDir = shared.__bullpenRedisDataDir as string | undefined;
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}
