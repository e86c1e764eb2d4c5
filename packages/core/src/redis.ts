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

/** Minimum time between two reconnect requests of one connection for READONLY replies. */
export const READONLY_RECONNECT_INTERVAL_MS = 1_000;

/** Time of each connection's last reconnect request, keyed by its options object. */
const lastReconnectRequestMs = new WeakMap<object, number>();

/**
 * Requests a reconnect on a READONLY reply. After a failover the old primary can serve on as
 * a replica, and a connection that stays open then fails every write. A new connection
 * resolves the address again, which reaches the new primary when the address is an endpoint
 * that follows failovers. The failed command is not sent again, and its caller gets the error.
 *
 * A connection requests at most one reconnect per READONLY_RECONNECT_INTERVAL_MS. ioredis
 * closes the socket again for every request, and the other replies of a burst arrive before
 * the socket has closed: 50 rejected writes added 50 close listeners to one socket, and
 * Node.js printed MaxListenersExceededWarning.
 *
 * ioredis 5 calls this as `this.options.reconnectOnError(error)`, so `this` is the options
 * object of the connection that got the reply. Every connection has its own options object,
 * the copies that BullMQ makes with `duplicate()` included, while all of them share this
 * function. A limit shared by all copies would reconnect only one connection a second after
 * a failover, for 1,000 blocking connections too. Called without an object as `this`, the
 * function requests a reconnect on every READONLY reply.
 * NOTE: an address that stays a replica makes a connection reconnect on each write it tries,
 * at most once per READONLY_RECONNECT_INTERVAL_MS.
 */
function reconnectOnReadOnly(this: unknown, error: Error): 1 | false {
  if (!error.message.startsWith('READONLY')) return false;
  if (typeof this !== 'object' || this === null) return 1;

  const nowMs = Date.now();
  const lastMs = lastReconnectRequestMs.get(this);
  if (lastMs !== undefined && nowMs - lastMs < READONLY_RECONNECT_INTERVAL_MS) return false;
  lastReconnectRequestMs.set(this, nowMs);
  return 1;
}

/**
 * Defines the Lua command `name` on `redis` unless the connection already has it, and
 * returns the connection typed with the command.
 */
export function defineScriptCommand<Extended extends Redis>(
  redis: Redis,
  name: string,
  numberOfKeys: number,
  lua: string,
): Extended {
  if (typeof (redis as unknown as Record<string, unknown>)[name] !== 'function') {
    redis.defineCommand(name, { numberOfKeys, lua });
  }
  return redis as Extended;
}

/** Describes where Redis is, with credentials left out, for logs. */
export function describeRedis(config: RedisConfig): string {
  if (config.url) {
    const url = new URL(config.url);
    return `${url.protocol}//${url.host}`;
  }
  return `${config.tls ? 'rediss' : 'redis'}://${config.host}:${config.port}`;
}

interface RedisReplyFields {
  readonly command?: { readonly name?: unknown };
  readonly previousErrors?: unknown;
}

/**
 * Returns `error` for the log without the arguments of the Redis command that failed. ioredis 5
 * sets `command: {name, args}` on a Redis reply error and on each of the `previousErrors` of an
 * EXECABORT. The args contain job data and registered endpoint header values, which must not be
 * logged, and can be megabytes long. The copy keeps only the command name. Errors without
 * those fields pass unchanged.
 */
export function withoutRedisCommandArguments(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const { command, previousErrors } = error as RedisReplyFields;
  if (command === undefined && previousErrors === undefined) return error;

  // The copy keeps the prototype, so pino logs the same `type` (the constructor name).
  const copy = Object.create(Object.getPrototypeOf(error) as object) as Record<string, unknown>;
  Object.assign(copy, error, { message: error.message, stack: error.stack });
  copy.command = command?.name;
  if (Array.isArray(previousErrors)) {
    copy.previousErrors = previousErrors.map((queued) =>
      queued instanceof Error ? queued.message : queued,
    );
  }
  return copy;
}
