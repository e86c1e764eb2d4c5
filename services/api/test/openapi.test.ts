import { createHarness, json, type Harness } from './harness';

interface MediaType {
  schema: { type?: string; maxLength?: number };
}

interface Operation {
  security?: Record<string, string[]>[];
  requestBody?: { required?: boolean; content: Record<string, MediaType> };
  responses: Record<string, { description: string; headers?: Record<string, unknown> }>;
}

interface OpenApiDocument {
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
  paths: Record<string, Record<string, Operation>>;
}

let harness: Harness;
let document: OpenApiDocument;

beforeAll(async () => {
  harness = await createHarness('openapi');
  const response = await harness.send('GET', '/openapi.json');
  expect(response.status).toBe(200);
  document = await json<OpenApiDocument>(response);
});

afterAll(async () => {
  await harness.close();
});

function operation(path: string, method: string): Operation {
  const found = document.paths[path]?.[method];
  if (!found) throw new Error(`the document has no ${method} ${path}`);
  return found;
}

describe('OpenAPI document', () => {
  test('declares both bearer schemes', () => {
    expect(document.components.securitySchemes.apiToken).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    expect(document.components.securitySchemes.jobToken).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
  });

  test('lists shared errors of a body route', () => {
    const addJobs = operation('/queues/{queue}/jobs', 'post');

    expect(addJobs.security).toEqual([{ apiToken: [] }]);
    expect(Object.keys(addJobs.responses).sort()).toEqual(
      ['200', '400', '401', '413', '415', '503'].sort(),
    );
  });

  test('marks every request body as required', () => {
    const bodies = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, found]) => found.requestBody)
        .map(([method, found]) => [`${method} ${path}`, found.requestBody?.required]),
    );

    expect(bodies.length).toBeGreaterThanOrEqual(4);
    expect(bodies.filter(([, required]) => required !== true)).toEqual([]);
  });

  test('declares Retry-After on every 503', () => {
    const unavailable = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, found]) => found.responses['503'])
        .map(([method, found]) => ({
          operation: `${method} ${path}`,
          headers: found.responses['503']?.headers ?? {},
        })),
    );

    expect(unavailable.map(({ operation }) => operation)).toContain('get /ready');
    expect(unavailable.filter(({ headers }) => !('Retry-After' in headers))).toEqual([]);
  });

  test('states the log line limit for both media types', () => {
    const addLog = operation('/queues/{queue}/jobs/{id}/logs', 'post');
    const content = addLog.requestBody?.content ?? {};

    expect(content['application/json']?.schema.maxLength).toBe(16 * 1024);
    expect(content['text/plain']?.schema.maxLength).toBe(16 * 1024);
  });

  test('leaves body errors out of a read route', () => {
    const listWorkers = operation('/workers', 'get');

    expect(listWorkers.security).toEqual([{ apiToken: [] }]);
    expect(Object.keys(listWorkers.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '503']),
    );
    expect(listWorkers.responses['413']).toBeUndefined();
  });

  test('marks callbacks with the job token', () => {
    const progress = operation('/queues/{queue}/jobs/{id}/progress', 'post');

    expect(progress.security).toEqual([{ jobToken: [] }]);
    expect(progress.responses['401']?.description).toContain('job token');
    expect(progress.responses['404']).toBeDefined();
  });

  test('keeps health routes public', () => {
    const health = operation('/health', 'get');
    const ready = operation('/ready', 'get');

    expect(health.security).toBeUndefined();
    expect(health.responses['401']).toBeUndefined();
    expect(ready.security).toBeUndefined();
    expect(ready.responses['503']).toBeDefined();
  });

  test('matches what the routes return without a token', async () => {
    const response = await harness.request('/workers');

    expect(response.status).toBe(401);
    expect(operation('/workers', 'get').responses['401']).toBeDefined();
  });
});
