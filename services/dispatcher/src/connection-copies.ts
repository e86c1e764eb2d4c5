import type { Redis } from 'ioredis';

/** The connections that BullMQ opened as copies of one connection. */
export interface ConnectionCopies {
  /** Ends every copy at once with `endConnection`. */
  endAll(): void;
}

/**
 * Records every copy that `duplicate()` makes of `connection` until the copy ends. A BullMQ
 * Worker given a connection opens a copy of it for its blocking job fetch, and its close()
 * ends that copy with QUIT. QUIT waits for Redis, so with Redis unreachable the close never
 * finishes and the copy keeps reconnecting for the life of the process.
 */
export function trackConnectionCopies(connection: Redis): ConnectionCopies {
  const copies = new Set<Redis>();
  const everReady = new WeakSet<Redis>();
  const duplicate = connection.duplicate.bind(connection);
  connection.duplicate = (...args) => {
    const copy = duplicate(...args);
    copies.add(copy);
    copy.once('ready', () => everReady.add(copy));
    copy.once('end', () => copies.delete(copy));
    return copy;
  };
  return {
    endAll: () => {
      for (const copy of copies) {
        // BullMQ 5.81 reports the failed first connect of a copy it has closed already as an
        // `error` event that nothing listens to, which stops a process without a handler.
        // A copy that never connected is therefore only disconnected, which leaves that
        // first connect pending instead.
        if (everReady.has(copy)) endConnection(copy);
        else copy.disconnect();
      }
      copies.clear();
    },
  };
}

/**
 * Ends a connection at once, without QUIT, and rejects the commands it has queued, so that
 * the callers waiting on them go on.
 */
export function endConnection(connection: Redis): void {
  connection.disconnect();
  if (connection.status !== 'reconnecting') return;
  // NOTE: ioredis 5.11 ends a connection that waits to reconnect without rejecting its queued
  // commands, which then never settle. A new attempt, marked by disconnect() as the last one,
  // rejects them when it fails, and one that reaches Redis is ended once ready.
  connection.once('ready', () => connection.disconnect());
  connection.connect().catch(() => undefined);
}
