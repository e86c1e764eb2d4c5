/** Stops the private redis-server that global setup started, if any. */
export default async function globalTeardown(): Promise<void> {
  const redis = (globalThis as Record<string, unknown>).__bullpenRedis as
    { stop: () => Promise<void> } | undefined;
  await redis?.stop();
}
