import { createRoute, z } from '@hono/zod-openapi';
import { responseJson, type ApiApp, type ApiDeps } from '../deps';
import { registerDocumentedRoute, withRetryAfter } from '../openapi';
import { errorResponseSchema } from './schemas';

const healthRoute = createRoute({
  method: 'get',
  path: '/health',
  summary: 'The process is up (no auth)',
  responses: { 200: responseJson('Up', z.object({ status: z.literal('ok') })) },
});

const readyRoute = createRoute({
  method: 'get',
  path: '/ready',
  summary: 'Redis answers (no auth)',
  responses: {
    200: responseJson('Ready', z.object({ status: z.literal('ready') })),
    503: withRetryAfter(responseJson('Redis is unavailable', errorResponseSchema)),
  },
});

export function registerHealthRoutes(app: ApiApp, deps: ApiDeps): void {
  registerDocumentedRoute(app, healthRoute);
  app.get('/health', (c) => c.json({ status: 'ok' as const }));

  registerDocumentedRoute(app, readyRoute);
  app.get('/ready', async (c) => {
    await deps.redis.ping();
    return c.json({ status: 'ready' as const });
  });
}
