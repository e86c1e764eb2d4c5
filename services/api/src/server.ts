import { createLogger, describeRedis, type Logger } from '@bullpen/core';
import { getRequestListener } from '@hono/node-server';
import { createServer } from 'node:http';
import type { Redis } from 'ioredis';
import type { AddressInfo } from 'node:net';
import { createApp, type AppOptions } from './app';
import {
  createClientErrorListener,
  createRequestErrorHandler,
  createRequestListeners,
  rejectConnect,
} from './client-error';
import type { ApiConfig } from './config';
import { createApiRedis } from './redis-connection';

/** How long start-up waits for Redis before serving anyway, with data routes returning 503. */
const INITIAL_CONNECT_WAIT_MS = 5000;

function waitForFirstConnection(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function done() {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    }
    redis.once('ready', done);
  });
}

export interface ApiServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface ApiServerOptions extends Pick<AppOptions, 'redisWarnIntervalMs'> {
  /** Default: pino JSON lines on standard output at `config.logLevel`. */
  readonly logger?: Logger;
}

/**
 * Starts the API on `config.host`/`config.port`. The process keeps serving while Redis is
 * down: data routes return 503 and recover when the connection returns.
 */
export async function startApiServer(
  config: ApiConfig,
  options: ApiServerOptions = {},
): Promise<ApiServer> {
  const logger = options.logger ?? createLogger({ name: 'bullpen-api', level: config.logLevel });

  const redis = createApiRedis(config);
  let lastRedisError = '';
  redis.on('error', (error: Error) => {
    // ioredis emits the same error on every reconnect attempt; log each distinct one once.
    if (error.message === lastRedisError) return;
    lastRedisError = error.message;
    logger.warn({ err: error, redis: describeRedis(config.redis) }, 'redis connection error');
  });
  redis.on('ready', () => {
    lastRedisError = '';
    logger.info({ redis: describeRedis(config.redis) }, 'redis connected');
  });

  await waitForFirstConnection(redis, INITIAL_CONNECT_WAIT_MS);
  const { app, deps } = createApp({
    config,
    redis,
    logger,
    redisWarnIntervalMs: options.redisWarnIntervalMs,
  });

  // Node.js sends an empty 400 for a request without a Host header unless requireHostHeader
  // is off. With it off, the request listener rejects such a request with a JSON error.
  const listeners = createRequestListeners(
    getRequestListener(app.fetch, { errorHandler: createRequestErrorHandler(logger) }),
    logger,
  );
  const server = createServer({ requireHostHeader: false }, listeners.request);
  // By default Node.js 20.20 keeps only the first 1,023 header fields, so a second Host line
  // after them would go unseen. The 16 KiB header size limit still bounds the count.
  server.maxHeadersCount = 0;
  server.on('clientError', createClientErrorListener(logger));
  server.on('checkContinue', listeners.checkContinue);
  server.on('checkExpectation', listeners.checkExpectation);
  server.on('connect', rejectConnect);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const displayHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${displayHost.includes(':') ? `[${displayHost}]` : displayHost}:${port}`;
  logger.info({ url, queuePrefix: config.queuePrefix }, 'api listening');

  return {
    url,
    port,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets would hold close() open until they time out.
        server.closeIdleConnections();
      });
      await deps.queues.closeAll();
      redis.disconnect();
      deps.redisWarnings.unavailable.flush();
      deps.redisWarnings.outOfMemory.flush();
      logger.info('api stopped');
    },
  };
}
