import dns from 'node:dns';
import {
  assertEndpointUrlAllowed,
  createGuardedLookup,
  EndpointAddressError,
  forbiddenAddressKind,
  parseEndpointAllowlist,
} from '../src/endpoint-address';

const NONE = parseEndpointAllowlist('');

describe('forbiddenAddressKind', () => {
  test.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['169.254.170.2', 'link-local'],
    ['fe80::1', 'link-local'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.10', 'private'],
    ['fd12:3456::1', 'private (unique local)'],
    ['100.64.0.1', 'shared (carrier-grade NAT)'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
  ])('classifies %s as %s', (address, kind) => {
    expect(forbiddenAddressKind(address)).toBe(kind);
  });

  test.each(['8.8.8.8', '172.32.0.1', '192.169.0.1', '2600:1f18::1', '52.94.0.1'])(
    'allows public %s',
    (address) => {
      expect(forbiddenAddressKind(address)).toBeUndefined();
    },
  );
});

describe('parseEndpointAllowlist', () => {
  test('reads hosts and ranges', () => {
    const allowlist = parseEndpointAllowlist(' 127.0.0.0/8, ::1 ,Worker.Internal ');
    expect(allowlist.hosts.has('worker.internal')).toBe(true);
    expect(allowlist.ranges.check('127.0.0.5', 'ipv4')).toBe(true);
    expect(allowlist.ranges.check('::1', 'ipv6')).toBe(true);
  });

  test.each(['10.0.0.0/33', 'not a host', '::1/129', 'host/8'])('rejects %p', (entry) => {
    expect(() => parseEndpointAllowlist(entry)).toThrow(entry);
  });
});

describe('assertEndpointUrlAllowed', () => {
  const noLookup = async () => {
    throw new Error('lookup must not run for IP literals');
  };

  test.each([
    'http://127.0.0.1:8080/job',
    'http://[::1]/job',
    'http://169.254.169.254/latest/meta-data/',
    'http://169.254.170.2/v2/credentials',
    'http://10.0.0.5/job',
    'https://192.168.1.20/job',
    'http://[::ffff:127.0.0.1]/job',
  ])('rejects %s', async (url) => {
    await expect(assertEndpointUrlAllowed(url, NONE, noLookup)).rejects.toThrow(
      EndpointAddressError,
    );
  });

  test('rejects localhost without resolving it', async () => {
    await expect(
      assertEndpointUrlAllowed('http://localhost:3000/', NONE, noLookup),
    ).rejects.toThrow(/loopback/);
  });

  test('rejects a name that resolves to a private address', async () => {
    const lookup = async () => ['203.0.113.10', '10.20.30.40'];
    await expect(
      assertEndpointUrlAllowed('https://sneaky.example.com/', NONE, lookup),
    ).rejects.toThrow(/10\.20\.30\.40, a private address/);
  });

  test('accepts a name that resolves to public addresses', async () => {
    const lookup = async () => ['52.94.0.1'];
    await expect(
      assertEndpointUrlAllowed('https://abc.lambda-url.us-east-1.on.aws/', NONE, lookup),
    ).resolves.toBeUndefined();
  });

  test('accepts a name that does not resolve here', async () => {
    const lookup = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    await expect(
      assertEndpointUrlAllowed('https://later.example.com/', NONE, lookup),
    ).resolves.toBeUndefined();
  });

  test('allows a range named in the allowlist', async () => {
    const allowlist = parseEndpointAllowlist('127.0.0.0/8,::1');
    await expect(
      assertEndpointUrlAllowed('http://127.0.0.1:9000/', allowlist, noLookup),
    ).resolves.toBeUndefined();
    await expect(
      assertEndpointUrlAllowed('http://[::1]:9000/', allowlist, noLookup),
    ).resolves.toBeUndefined();
    await expect(
      assertEndpointUrlAllowed('http://169.254.169.254/', allowlist, noLookup),
    ).rejects.toThrow(EndpointAddressError);
  });

  test('allows a host named in the allowlist', async () => {
    const allowlist = parseEndpointAllowlist('worker.internal');
    const lookup = async () => ['10.0.0.8'];
    await expect(
      assertEndpointUrlAllowed('http://worker.internal/', allowlist, lookup),
    ).resolves.toBeUndefined();
  });
});

describe('createGuardedLookup', () => {
  function lookup(allowlistText: string, hostname: string) {
    const guarded = createGuardedLookup(parseEndpointAllowlist(allowlistText));
    return new Promise<{ error: Error | null; address: unknown }>((resolve) => {
      guarded(hostname, { family: 0 } as dns.LookupOptions, (error, address) =>
        resolve({ error, address }),
      );
    });
  }

  test('fails the connection when the name resolves to loopback', async () => {
    const result = await lookup('', 'localhost');
    expect(result.error).toBeInstanceOf(EndpointAddressError);
  });

  test('resolves when the range is allowed', async () => {
    const result = await lookup('127.0.0.0/8,::1', 'localhost');
    expect(result.error).toBeNull();
    expect(['127.0.0.1', '::1']).toContain(result.address);
  });
});
