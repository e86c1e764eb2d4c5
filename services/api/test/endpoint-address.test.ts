import { createHarness, json, type Harness } from './harness';

let strict: Harness;
let local: Harness;

beforeAll(async () => {
  strict = await createHarness('address-strict');
  local = await createHarness('address-local', { ENDPOINT_ALLOWLIST: '127.0.0.0/8,::1' });
});

afterAll(async () => {
  await strict.close();
  await local.close();
});

function register(harness: Harness, url: string) {
  return harness.send('POST', '/workers', { queue: 'addressed', endpoint: { url } });
}

test.each([
  ['loopback', 'http://127.0.0.1:3000/run'],
  ['loopback by name', 'http://localhost:3000/run'],
  ['IPv6 loopback', 'http://[::1]:3000/run'],
  ['instance metadata', 'http://169.254.169.254/latest/meta-data/iam/'],
  ['task metadata', 'http://169.254.170.2/v2/credentials'],
  ['private 10/8', 'http://10.0.12.7/run'],
  ['private 172.16/12', 'http://172.20.1.1/run'],
  ['private 192.168/16', 'https://192.168.0.2/run'],
])('rejects a %s endpoint', async (_label, url) => {
  const response = await register(strict, url);
  expect(response.status).toBe(400);
  const body = await json<{ error: { code: string; message: string } }>(response);
  expect(body.error.code).toBe('endpoint_address_forbidden');
  expect(body.error.message).toContain('ENDPOINT_ALLOWLIST');
});

test('accepts loopback when the allowlist names it', async () => {
  const response = await register(local, 'http://127.0.0.1:3000/run');
  expect(response.status).toBe(200);
});

test('still rejects metadata when only loopback is allowed', async () => {
  const response = await register(local, 'http://169.254.169.254/latest/');
  expect(response.status).toBe(400);
});

test('accepts a public endpoint', async () => {
  const response = await register(strict, 'https://203.0.113.50/run');
  expect(response.status).toBe(200);
});

test('rejects credentials in the URL', async () => {
  const response = await register(strict, 'https://user:pass@worker.example.com/run');
  expect(response.status).toBe(400);
  const body = await json<{ error: { issues: { path: string; message: string }[] } }>(response);
  expect(body.error.issues[0]?.path).toBe('endpoint.url');
  expect(body.error.issues[0]?.message).toContain('must not contain credentials');
});
