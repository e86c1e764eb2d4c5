import { silentLogger } from '@bullpen/core';
import { Redis } from 'ioredis';
import { cleanupPrefix, testRedisUrl, uniquePrefix } from '../../../test/support/redis';
import { createApp } from '../src/app';
import { loadApiConfig, type ApiConfig } from '../src/config';
import { createApiRedis } from '../src/redis-connection';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../src/server';

export const TOKEN = 'test-api-token';
export const AUTH = { authorization: `Bearer ${TOKEN}` };

export interface Harness {
  readonly prefix: string;
  readonly config: ApiConfig;
  readonly redis: Redis;
  request(path: string, init?: RequestInit): Promise<Response>;
  /** Sends JSON with the API token. */
  send(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
  close(): Promise<void>;
}

/**
 * Builds the app in-process against the shared test Redis with a prefix of its own, on a
 * connection with the API's own settings.
 * `env` overrides the configuration variables.
 */
export async function createHarness(
  label: string,
  env: Record<string, string> = {},
): Promise<Harness> {
  const prefix = uniquePrefix(label);
  const config = loadApiConfig({
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: prefix,
    AUTH_TOKENS: TOKEN,
    ENDPOINT_ALLOWLIST: '',
    ...env,
  });
  const redis = createApiRedis(config);
  await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
  const { app, deps } = createApp({ config, redis, logger: silentLogger() });

  const request = async (path: string, init?: RequestInit) => app.request(path, init);
  return {
    prefix,
    config,
    redis,
    request,
    send: (method, path, body, headers = {}) =>
      request(path, {
        method,
        headers: { 'content-type': 'application/json', ...AUTH, ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    close: async () => {
      await deps.queues.closeAll();
      await cleanupPrefix(redis, prefix);
      redis.disconnect();
    },
  };
}

export async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

/**
 * Starts a real API server on a free loopback port against the shared test Redis, logging
 * nothing unless `options` gives a logger. `env` overrides the configuration variables.
 */
export function startLoopbackApi(
  queuePrefix: string,
  env: Record<string, string> = {},
  options: ApiServerOptions = {},
): Promise<ApiServer> {
  const config = loadApiConfig({
    REDIS_URL: testRedisUrl(),
    PORT: '0',
    HOST: '127.0.0.1',
    AUTH_TOKENS: TOKEN,
    QUEUE_PREFIX: queuePrefix,
    ...env,
  });
  return startApiServer(config, { logger: silentLogger(), ...options });
}
