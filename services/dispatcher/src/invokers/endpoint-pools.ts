import net from 'node:net';
import { Pool, buildConnector } from 'undici';
import { assertAddressAllowed, createGuardedLookup, type EndpointAllowlist } from '@bullpen/core';

export interface EndpointPoolSettings {
  readonly allowlist: EndpointAllowlist;
  /**
   * Idle time before the first TCP keep-alive probe; default 30 s. NAT gateways drop
   * idle flows (AWS NAT Gateway after 350 s), and a Lambda Function URL call may wait
   * 15 minutes for its response, so probes must start well before that.
   */
  readonly keepAliveInitialDelayMs?: number;
  /** Time allowed to open a connection, TLS included; default 10 s. */
  readonly connectTimeoutMs?: number;
}

const DEFAULT_KEEP_ALIVE_INITIAL_DELAY_MS = 30_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Builds an undici connector with TCP keep-alive on that checks, on every new connection,
 * the address it reaches against the forbidden ranges. Host names are checked by the
 * guarded lookup. IP literals need their own check, because sockets skip the lookup for them.
 */
export function createGuardedConnector(settings: EndpointPoolSettings): buildConnector.connector {
  const connectSocket = buildConnector({
    lookup: createGuardedLookup(settings.allowlist),
    keepAlive: true,
    keepAliveInitialDelay: settings.keepAliveInitialDelayMs ?? DEFAULT_KEEP_ALIVE_INITIAL_DELAY_MS,
    timeout: settings.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  });

  return (options, callback) => {
    if (net.isIP(options.hostname) !== 0) {
      try {
        assertAddressAllowed(options.hostname, options.hostname, settings.allowlist);
      } catch (error) {
        callback(error as Error, null);
        return;
      }
    }
    connectSocket(options, callback);
  };
}

/**
 * One undici Pool per endpoint origin, all connecting through the guarded connector, so
 * connections are kept alive and reused across jobs. HttpExchange dispatches to a pool
 * directly.
 *
 * NOTE: a pool stays until shutdown even after no registration uses its origin any more.
 * Its idle connections close after undici's keep-alive timeout (4 s by default).
 */
export class EndpointPools {
  private readonly connect: buildConnector.connector;
  private readonly pools = new Map<string, Pool>();

  constructor(settings: EndpointPoolSettings) {
    this.connect = createGuardedConnector(settings);
  }

  /** Returns the pool of `origin` (such as `https://example.com:8443`), created on first use. */
  poolFor(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      // undici's own headers and body timeouts (300 s by default) would cut calls that the
      // registration allows 15 minutes. Each call's HttpExchange enforces its timeout instead.
      pool = new Pool(origin, { connect: this.connect, headersTimeout: 0, bodyTimeout: 0 });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /** Destroys every pool and its connections, ending any request still in flight. */
  async destroy(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy()));
  }
}
