import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import net from 'node:net';
import { cleanupPrefix, testRedisUrl, uniquePrefix } from '../../../test/support/redis';
import type { ApiServer } from '../src/server';
import { startLoopbackApi, TOKEN } from './harness';

const REDIS_TIMEOUT_MS = 300;
/** Pause in the middle of the body, well past the Redis deadline. */
const UPLOAD_PAUSE_MS = 3 * REDIS_TIMEOUT_MS;

let server: ApiServer;
let redis: Redis;
const prefix = uniquePrefix('slow-body');

beforeAll(async () => {
  redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  server = await startLoopbackApi(prefix, { REDIS_TIMEOUT_MS: String(REDIS_TIMEOUT_MS) });
});

afterAll(async () => {
  await server?.close();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
});

/** Sends the request head and half the body, pauses, sends the rest and returns the reply. */
function postInTwoParts(path: string, body: string): Promise<string> {
  const head =
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n';
  const half = Math.floor(body.length / 2);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(server.port, '127.0.0.1', () => {
      socket.write(head + body.slice(0, half));
      setTimeout(() => socket.write(body.slice(half)), UPLOAD_PAUSE_MS);
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('timed out: no reply within 10 s')));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

describe('slow request body', () => {
  test('upload time is not a Redis timeout', async () => {
    const reply = await postInTwoParts('/queues/slow-upload/jobs', '[{"name":"late","data":1}]');

    expect(reply.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    const queue = new Queue('slow-upload', { connection: redis, prefix });
    try {
      expect(await queue.getJobCountByTypes('waiting')).toBe(1);
    } finally {
      await queue.close();
    }
  });
});
