import { Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from './config';

/**
 * Opens an ioredis connection from configuration. `overrides` wins over the defaults, for
 * example `maxRetriesPerRequest: null`, which BullMQ requires on worker connections.
 */
export function createRedis(config: RedisConfig, overrides: RedisOptions = {}): Redis {
  const base: RedisOptions = {
    ...(config.tls ? { tls: {} } : {}),
    ...(config.username ? { username: config.username } : {}),
    ...(config.password ? { password: config.password } : {}),
  };
  if (config.url) return new Redis(config.url, { ...base, ...overrides });
  return new Redis({ ...base, host: config.host, port: config.port, ...overrides });
}

/** Describes where Redis is, with credentials left out, for logs. */
export function describeRedis(config: RedisConfig): string {
  if (config.url) {
    const url = new URL(config.url);
    return `${url.protocol}//${url.host}`;
  }
  return `${config.tls ? 'rediss' : 'redis'}://${config.host}:${config.port}`;
}
