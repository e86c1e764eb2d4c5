import { Hono } from 'hono';
import { Redis } from 'ioredis';
import { startReadOnlyReplica } from '../../../test/support/redis';
import { cleanupsAfterEach } from '../../../test/support/cleanups';
import { createErrorHandler, createRedisWarnings } from '../src/errors';
import { captureLogger } from './capture-logger';

// Runs the API's error handler in a small Hono app whose route writes in MULTI/EXEC to a real
// read-only replica. No API route writes in a transaction yet, so the test builds one.

const cleanups = cleanupsAfterEach();

/** Starts a read-only replica for this test and returns a client of it. */
async function openReadOnlyReplica(): Promise<Redis> {
  const replica = await startReadOnlyReplica();
  cleanups.push(() => replica.stop());
  const client = new Redis(replica.url, { maxRetriesPerRequest: 1 });
  cleanups.push(async () => client.disconnect());
  return client;
}

describe('error handler', () => {
  test('READONLY inside MULTI gives 503', async () => {
    const redis = await openReadOnlyReplica();
    const { logger, lines } = captureLogger();
    const warnings = createRedisWarnings(logger, 60_000);
    cleanups.push(async () => warnings.unavailable.flush());

    const app = new Hono();
    app.onError(createErrorHandler(logger, warnings));
    app.post('/write', async (c) => {
      await redis.multi().set('error-handler:key', 'value').exec();
      return c.json({ written: true });
    });

    const response = await app.request('/write', { method: 'POST' });

    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).not.toBeNull();
    const body = (await response.json()) as { error: { code: string } };
    expect(body.error.code).toBe('redis_unavailable');
    expect(lines.map((line) => line.msg)).toEqual(['redis unavailable']);
    expect(lines[0]?.err).toMatchObject({ message: expect.stringMatching(/^EXECABORT/) });
  });
});
