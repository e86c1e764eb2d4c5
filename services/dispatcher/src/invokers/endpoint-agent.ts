import net from 'node:net';
import { Agent, buildConnector } from 'undici';
import { assertAddressAllowed, createGuardedLookup, type EndpointAllowlist } from '@bullpen/core';

export interface EndpointAgentSettings {
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
 * Creates the undici Agent that every HTTP endpoint call goes through: connections are
 * kept and reused per origin, TCP keep-alive is on, and every new connection checks the
 * address it reaches against the forbidden ranges. Host names are checked by the guarded
 * lookup. IP literals need their own check, because sockets skip the lookup for them.
 */
export function createEndpointAgent(settings: EndpointAgentSettings): Agent {
  const connectSocket = buildConnector({
    lookup: createGuardedLookup(settings.allowlist),
    keepAlive: true,
    keepAliveInitialDelay: settings.keepAliveInitialDelayMs ?? DEFAULT_KEEP_ALIVE_INITIAL_DELAY_MS,
    timeout: settings.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  });

  const connectGuarded: buildConnector.connector = (options, callback) => {
    if (net.isIP(options.hostname) !== 0) {
      try {
        assertAddressAllowed(options.hostname, options.hostname, settings.allowlist);
      } catch (error) {
        callback(error as Error, null);
        return;
      }
    }
    return connectSocket(options, callback);
  };

  return new Agent({ connect: connectGuarded });
}
