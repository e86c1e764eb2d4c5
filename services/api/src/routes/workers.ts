import {
  assertEndpointUrlAllowed,
  describeEndpoint,
  NotFoundError,
  normalizedRegistrationSchema,
  parseOrThrow,
  workerRegistrationSchema,
} from '@bullpen/core';
import { createRoute, z } from '@hono/zod-openapi';
import { readJsonBody } from '../body';
import { responseJson, type ApiApp, type ApiDeps } from '../deps';
import { registerDocumentedRoute } from '../openapi';
import { noQuerySchema, readQuery } from '../query';
import { errorResponseSchema, okResponseSchema, queueParamsSchema } from './schemas';

const registerWorkerRoute = createRoute({
  method: 'post',
  path: '/workers',
  summary: 'Register a worker, replacing any worker of that queue',
  request: { body: { content: { 'application/json': { schema: workerRegistrationSchema } } } },
  responses: {
    200: responseJson('Registered', okResponseSchema),
    400: responseJson('Invalid registration', errorResponseSchema),
  },
});

const listWorkersRoute = createRoute({
  method: 'get',
  path: '/workers',
  summary: 'List workers: queue name to endpoint URL or function name',
  responses: { 200: responseJson('Workers', z.record(z.string(), z.string())) },
});

const removeWorkerRoute = createRoute({
  method: 'delete',
  path: '/workers/{queue}',
  summary: 'Remove the worker of a queue',
  request: { params: queueParamsSchema },
  responses: {
    200: responseJson('Removed', okResponseSchema),
    404: responseJson('No worker registered for the queue', errorResponseSchema),
  },
});

export function registerWorkerRoutes(app: ApiApp, deps: ApiDeps): void {
  const { registry, config, logger } = deps;

  registerDocumentedRoute(app, registerWorkerRoute);
  app.post('/workers', async (c) => {
    readQuery(c, noQuerySchema);
    const registration = parseOrThrow(
      normalizedRegistrationSchema,
      await readJsonBody(c),
      'worker',
    );
    if (registration.endpoint.type === 'http') {
      await assertEndpointUrlAllowed(registration.endpoint.url, config.endpointAllowlist);
    }

    await registry.put(registration);
    logger.info(
      { queue: registration.queue, endpoint: describeEndpoint(registration.endpoint) },
      'worker registered',
    );
    return c.json({ ok: true as const });
  });

  registerDocumentedRoute(app, listWorkersRoute);
  app.get('/workers', async (c) => {
    readQuery(c, noQuerySchema);
    const workers: Record<string, string> = {};
    for (const [queue, raw] of await registry.readAllRaw()) {
      const parsed = normalizedRegistrationSchema.safeParse(safeJsonParse(raw));
      if (!parsed.success) {
        logger.warn({ queue }, 'skipping invalid registration stored in redis');
        continue;
      }
      workers[queue] = describeEndpoint(parsed.data.endpoint);
    }
    return c.json(workers);
  });

  registerDocumentedRoute(app, removeWorkerRoute);
  app.delete('/workers/:queue', async (c) => {
    const { queue } = parseOrThrow(queueParamsSchema, c.req.param(), 'path', ['path']);
    readQuery(c, noQuerySchema);
    if (!(await registry.remove(queue))) {
      throw new NotFoundError(`No worker is registered for queue "${queue}".`);
    }
    logger.info({ queue }, 'worker removed');
    return c.json({ ok: true as const });
  });
}

function safeJsonParse(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
