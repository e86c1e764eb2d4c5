import { createHarness, json, type Harness } from './harness';

type ErrorBody = { error: { code: string; message: string } };

let harness: Harness;

beforeAll(async () => {
  harness = await createHarness('methods');
});

afterAll(async () => {
  await harness.close();
});

describe('wrong method', () => {
  test.each([
    ['PUT', '/workers/some-queue', 'DELETE'],
    ['PATCH', '/workers', 'GET, HEAD, POST'],
    ['DELETE', '/queues/q/jobs', 'GET, HEAD, POST'],
    ['POST', '/queues/q/jobs/7', 'GET, HEAD'],
    ['PUT', '/queues/q/jobs/7/logs', 'GET, HEAD, POST'],
    ['POST', '/openapi.json', 'GET, HEAD'],
  ])('%s %s gets 405', async (method, path, allow) => {
    const response = await harness.send(method, path);

    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe(allow);
    const body = await json<ErrorBody>(response);
    expect(body.error.code).toBe('method_not_allowed');
    expect(body.error.message).toBe(`Method ${method} is not allowed on this path; use ${allow}.`);
  });

  test('HEAD is served where GET is', async () => {
    const response = await harness.send('HEAD', '/workers');

    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  test('unknown path still gets 404', async () => {
    const response = await harness.send('GET', '/queues/q/nothing-here');

    expect(response.status).toBe(404);
    expect(response.headers.get('allow')).toBeNull();
    expect((await json<ErrorBody>(response)).error.code).toBe('not_found');
  });

  test('needs a token before 405', async () => {
    const response = await harness.request('/workers/some-queue', { method: 'PUT' });

    expect(response.status).toBe(401);
  });
});
