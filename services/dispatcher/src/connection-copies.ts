import type { Redis } from 'ioredis';

/** The connections that BullMQ opened as copies of one connection. */
export interface ConnectionCopies {
  /** Ends every copy at once, without a QUIT and without waiting for Redis. */
  disconnectAll(): void;
}

/**
 * Records every copy that `duplicate()` makes of `connection` until the copy ends. A BullMQ
 * Worker given a connection opens a copy of it for its blocking job fetch, and its close()
 * ends that copy with QUIT. QUIT waits for Redis, so with Redis unreachable the close never
 * finishes and the copy keeps reconnecting for the life of the process. Ending the copies
 * stops those reconnects.
 */
export function trackConnectionCopies(connection: Redis): ConnectionCopies {
  const copies = new Set<Redis>();
  const duplicate = connection.duplicate.bind(connection);
  connection.duplicate = (...args) => {
    const copy = duplicate(...args);
    copies.add(copy);
    copy.once('end', () => copies.delete(copy));
    return copy;
  };
  return {
    disconnectAll: () => {
      for (const copy of copies) copy.disconnect();
      copies.clear();
    },
  };
}
