import dns from 'node:dns';
import net from 'node:net';
import { BullpenError } from './errors';

/** Address ranges an endpoint may not reach unless the operator allows them. */
const FORBIDDEN_RANGES: ReadonlyArray<{ network: string; prefix: number; kind: string }> = [
  { network: '0.0.0.0', prefix: 8, kind: 'unspecified' },
  { network: '10.0.0.0', prefix: 8, kind: 'private' },
  { network: '100.64.0.0', prefix: 10, kind: 'shared (carrier-grade NAT)' },
  { network: '127.0.0.0', prefix: 8, kind: 'loopback' },
  // Includes the EC2 instance metadata service (169.254.169.254) and the ECS task metadata
  // endpoint (169.254.170.2).
  { network: '169.254.0.0', prefix: 16, kind: 'link-local' },
  { network: '172.16.0.0', prefix: 12, kind: 'private' },
  { network: '192.0.0.0', prefix: 24, kind: 'reserved' },
  { network: '192.168.0.0', prefix: 16, kind: 'private' },
  { network: '198.18.0.0', prefix: 15, kind: 'benchmarking' },
  { network: '224.0.0.0', prefix: 4, kind: 'multicast' },
  { network: '240.0.0.0', prefix: 4, kind: 'reserved' },
];
const FORBIDDEN_RANGES_V6: ReadonlyArray<{ network: string; prefix: number; kind: string }> = [
  { network: '::', prefix: 128, kind: 'unspecified' },
  { network: '::1', prefix: 128, kind: 'loopback' },
  { network: 'fc00::', prefix: 7, kind: 'private (unique local)' },
  { network: 'fe80::', prefix: 10, kind: 'link-local' },
  { network: 'ff00::', prefix: 8, kind: 'multicast' },
  // The Amazon Time Sync and instance metadata IPv6 addresses live here.
  { network: 'fd00:ec2::', prefix: 32, kind: 'link-local (EC2 metadata)' },
];

/** An endpoint URL or the address it resolved to is in a forbidden range. */
export class EndpointAddressError extends BullpenError {
  readonly host: string;
  readonly address: string;

  constructor(host: string, address: string, kind: string) {
    super(
      `Endpoint host "${host}" resolves to ${address}, a ${kind} address. Endpoints may not ` +
        'reach loopback, link-local or private addresses unless ENDPOINT_ALLOWLIST names ' +
        'the host or a range that contains it.',
      { status: 400, code: 'endpoint_address_forbidden' },
    );
    this.host = host;
    this.address = address;
  }
}

/** Host names and CIDR ranges an operator allows despite the forbidden ranges. */
export interface EndpointAllowlist {
  readonly hosts: ReadonlySet<string>;
  readonly ranges: net.BlockList;
  /** The list as configured, for logs. */
  readonly source: string;
}

/** Parses a comma list of host names and CIDR ranges (`127.0.0.0/8,::1,api.internal`). */
export function parseEndpointAllowlist(value: string): EndpointAllowlist {
  const hosts = new Set<string>();
  const ranges = new net.BlockList();
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;

    const [address, prefixText] = entry.split('/');
    const family = net.isIP(address ?? '');
    if (family !== 0 && address !== undefined) {
      const type = family === 4 ? 'ipv4' : 'ipv6';
      const maxPrefix = family === 4 ? 32 : 128;
      const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > maxPrefix) {
        throw new Error(`"${entry}" has an invalid prefix length; use 0 to ${maxPrefix}`);
      }
      ranges.addSubnet(address, prefix, type);
      continue;
    }
    if (prefixText !== undefined || !/^[a-z0-9.-]+$/i.test(entry)) {
      throw new Error(`"${entry}" is neither a host name nor an IP address or CIDR range`);
    }
    hosts.add(entry.toLowerCase());
  }
  return { hosts, ranges, source: value };
}

export const EMPTY_ALLOWLIST: EndpointAllowlist = parseEndpointAllowlist('');

const forbiddenV4 = FORBIDDEN_RANGES.map((range) => {
  const list = new net.BlockList();
  list.addSubnet(range.network, range.prefix, 'ipv4');
  return { list, kind: range.kind };
});
const forbiddenV6 = FORBIDDEN_RANGES_V6.map((range) => {
  const list = new net.BlockList();
  list.addSubnet(range.network, range.prefix, 'ipv6');
  return { list, kind: range.kind };
});

/**
 * Returns the IPv4 address inside an IPv4-mapped IPv6 address, in either notation
 * (`::ffff:127.0.0.1`, or `::ffff:7f00:1` as the WHATWG URL parser writes it), so the IPv4
 * ranges apply to it.
 */
function unmapIpv4(address: string): string {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (dotted?.[1]) return dotted[1];

  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex?.[1] && hex[2]) {
    const high = parseInt(hex[1], 16);
    const low = parseInt(hex[2], 16);
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  }
  return address;
}

/** Names the kind of forbidden range `address` is in, or undefined when it is public. */
export function forbiddenAddressKind(address: string): string | undefined {
  const plain = unmapIpv4(address);
  const family = net.isIP(plain);
  if (family === 4) return forbiddenV4.find((range) => range.list.check(plain, 'ipv4'))?.kind;
  if (family === 6) return forbiddenV6.find((range) => range.list.check(plain, 'ipv6'))?.kind;
  return 'unparseable';
}

function isAllowedByRange(address: string, allowlist: EndpointAllowlist): boolean {
  const plain = unmapIpv4(address);
  const family = net.isIP(plain);
  if (family === 0) return false;
  return allowlist.ranges.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}

/** Throws EndpointAddressError when `address`, reached through `host`, is not allowed. */
export function assertAddressAllowed(
  host: string,
  address: string,
  allowlist: EndpointAllowlist,
): void {
  if (allowlist.hosts.has(host.toLowerCase())) return;
  if (isAllowedByRange(address, allowlist)) return;
  const kind = forbiddenAddressKind(address);
  if (kind) throw new EndpointAddressError(host, address, kind);
}

function hostOf(url: URL): string {
  // URL keeps IPv6 literals in brackets.
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

export type LookupAll = (hostname: string) => Promise<string[]>;

const lookupAllAddresses: LookupAll = async (hostname) =>
  (await dns.promises.lookup(hostname, { all: true })).map((entry) => entry.address);

/**
 * Checks an endpoint URL at registration. IP literals and names that resolve are checked
 * against the forbidden ranges. A name that does not resolve here is accepted, because the
 * dispatcher resolves it again on every connection and checks the address it gets then.
 */
export async function assertEndpointUrlAllowed(
  rawUrl: string,
  allowlist: EndpointAllowlist,
  lookupAll: LookupAll = lookupAllAddresses,
): Promise<void> {
  const host = hostOf(new URL(rawUrl));
  if (allowlist.hosts.has(host.toLowerCase())) return;

  if (net.isIP(host) !== 0) {
    assertAddressAllowed(host, host, allowlist);
    return;
  }
  if (host.toLowerCase() === 'localhost' || host.toLowerCase().endsWith('.localhost')) {
    assertAddressAllowed(host, '127.0.0.1', allowlist);
  }

  let addresses: string[];
  try {
    addresses = await lookupAll(host);
  } catch {
    return;
  }
  for (const address of addresses) assertAddressAllowed(host, address, allowlist);
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | dns.LookupAddress[],
  family?: number,
) => void;

/**
 * Creates a `dns.lookup` replacement for outbound sockets that fails the connection when the
 * resolved address is forbidden, so a DNS answer that changes after registration cannot
 * reach the metadata service or a private network.
 */
export function createGuardedLookup(allowlist: EndpointAllowlist) {
  return function guardedLookup(
    hostname: string,
    options: dns.LookupOptions,
    callback: LookupCallback,
  ): void {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '');
      try {
        for (const entry of addresses) assertAddressAllowed(hostname, entry.address, allowlist);
      } catch (rejection) {
        return callback(rejection as NodeJS.ErrnoException, '');
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first)
        return callback(
          Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }),
          '',
        );
      callback(null, first.address, first.family);
    });
  };
}
