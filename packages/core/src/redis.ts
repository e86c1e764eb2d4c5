import { Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from './config';

/**
 * Opens an ioredis connection from configuration. `overrides` wins over the defaults, for
 * example `maxRetriesPerRequest: null`, which BullMQ requires on worker connections.
 */
export function createRedis(config: RedisConfig, overrides: RedisOptions = {}): Redis {
  const base: RedisOptions = {
    reconnectOnError: reconnectOnReadOnly,
    ...(config.tls ? { tls: {} } : {}),
    ...(config.username ? { username: config.username } : {}),
    ...(config.password ? { password: config.password } : {}),
  };
  if (config.url) return new Redis(config.url, { ...base, ...overrides });
  return new Redis({ ...base, host: config.host, port: config.port, ...overrides });
}

/**
 * Reconnects when Redis replies READONLY. After a failover the old primary can serve on as a
 * replica, and a connection that stays open then fails every write. A new connection
 * resolves the address again, which reaches the new primary when the address is an endpoint
 * that follows failovers. The failed command is not sent again, and its caller gets the error.
 * NOTE: an address that stays a replica makes each connection reconnect after every write
 * it tries, paced by the retry strategy.
 */
export function reconnectOnReadOnly(error: Error): 1 | false {
  return error.message.startsWith('READONLY') ? 1 : false;
}

/** Describes where Redis is, with credentials left out, for logs. */
export function describeRedis(config: RedisConfig): string {
  if (config.url) {
    const url = new URL(config.url);
    return `${url.protocol}//${url.host}`;
  }
  return `${config.tls ? 'rediss' : 'redis'}://${config.host}:${config.port}`;
}
