import type { Redis } from 'ioredis';
import { registryKeys, type RegistryKeys } from './keys';
import { defineScriptCommand } from './redis';
import type { WorkerRegistration } from './schemas/worker';

/**
 * Writes the hash and appends the change event in one step, so a dispatcher that reads the
 * stream never misses a write that landed in the hash. ARGV: operation, queue, JSON, max
 * stream length. Returns the event id, or false when a delete found nothing to remove.
 */
const WRITE_REGISTRY_SCRIPT = `
local operation = ARGV[1]
local queue = ARGV[2]
if operation == 'put' then
  redis.call('HSET', KEYS[1], queue, ARGV[3])
elseif operation == 'delete' then
  if redis.call('HDEL', KEYS[1], queue) == 0 then
    return false
  end
else
  return redis.error_reply('unknown registry operation ' .. operation)
end
return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'type', operation, 'queue', queue)
`;

/** How many change events the stream keeps; older ones are covered by periodic reconciliation. */
const MAX_STREAM_LENGTH = 10_000;

export interface RegistryEvent {
  readonly id: string;
  readonly type: 'put' | 'delete';
  readonly queue: string;
}

type RedisWithRegistry = Redis & {
  bullpenWriteRegistry(
    workersKey: string,
    eventsKey: string,
    operation: string,
    queue: string,
    json: string,
    maxLength: number,
  ): Promise<string | null>;
};

function withRegistryCommand(redis: Redis): RedisWithRegistry {
  return defineScriptCommand<RedisWithRegistry>(
    redis,
    'bullpenWriteRegistry',
    2,
    WRITE_REGISTRY_SCRIPT,
  );
}

/** Serialises a registration in the one canonical form stored in the hash. */
export function serializeRegistration(registration: WorkerRegistration): string {
  return JSON.stringify({
    queue: registration.queue,
    endpoint: registration.endpoint,
    opts: registration.opts,
  });
}

/**
 * The worker registry in Redis: a hash of queue name to registration JSON plus a stream of
 * change events. Values are returned raw; callers validate them, because a value written by
 * another tool may be corrupt and must not stop the others from loading.
 */
export class WorkerRegistry {
  readonly keys: RegistryKeys;
  private readonly redis: RedisWithRegistry;

  constructor(redis: Redis, queuePrefix?: string) {
    this.redis = withRegistryCommand(redis);
    this.keys = registryKeys(queuePrefix);
  }

  /** Stores or replaces the registration of its queue and returns the change event id. */
  async put(registration: WorkerRegistration): Promise<string> {
    const id = await this.redis.bullpenWriteRegistry(
      this.keys.workers,
      this.keys.events,
      'put',
      registration.queue,
      serializeRegistration(registration),
      MAX_STREAM_LENGTH,
    );
    return id as string;
  }

  /** Removes the registration of `queue`; returns false when there was none. */
  async remove(queue: string): Promise<boolean> {
    const id = await this.redis.bullpenWriteRegistry(
      this.keys.workers,
      this.keys.events,
      'delete',
      queue,
      '',
      MAX_STREAM_LENGTH,
    );
    return id !== null;
  }

  async getRaw(queue: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.workers, queue)) ?? undefined;
  }

  /** Reads every registration as stored: queue name to raw JSON. */
  async readAllRaw(): Promise<Map<string, string>> {
    return new Map(Object.entries(await this.redis.hgetall(this.keys.workers)));
  }

  /** Id of the newest change event, or `0-0` when the stream is empty. */
  async lastEventId(): Promise<string> {
    const newest = await this.redis.xrevrange(this.keys.events, '+', '-', 'COUNT', 1);
    return newest[0]?.[0] ?? '0-0';
  }

  /**
   * Reads change events after `afterId`, waiting up to `blockMs` for one. Blocking reads
   * hold the connection, so pass a connection used for nothing else.
   */
  async readEvents(
    afterId: string,
    blockMs: number,
    connection: Redis = this.redis,
  ): Promise<RegistryEvent[]> {
    const reply = await connection.xread(
      'COUNT',
      500,
      'BLOCK',
      blockMs,
      'STREAMS',
      this.keys.events,
      afterId,
    );
    const entries = reply?.[0]?.[1] ?? [];
    return entries.map(([id, fields]) => {
      const values = new Map<string, string>();
      for (let index = 0; index + 1 < fields.length; index += 2) {
        values.set(fields[index] as string, fields[index + 1] as string);
      }
      return {
        id,
        type: values.get('type') === 'delete' ? 'delete' : 'put',
        queue: values.get('queue') ?? '',
      };
    });
  }
}
