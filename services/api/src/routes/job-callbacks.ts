import { NotFoundError, parseOrThrow } from '@bullpen/core';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { mediaTypeOf, readBodyText, readJsonBody } from '../body';
import { responseJson, type ApiApp, type ApiDeps } from '../deps';
import { registerDocumentedRoute } from '../openapi';
import { findJob } from '../find-job';
import { readBearerToken } from '../middleware/auth';
import { noQuerySchema, readQuery } from '../query';
import {
  errorResponseSchema,
  jobParamsSchema,
  logLineSchema,
  logsQuerySchema,
  MAX_LOG_LINE_CHARS,
  okResponseSchema,
} from './schemas';

const jobTokenResponses = {
  200: responseJson('Recorded', okResponseSchema),
  401: responseJson('The job token is missing or not the current lock', errorResponseSchema),
  404: responseJson('The job no longer exists', errorResponseSchema),
};

const progressRoute = createRoute({
  method: 'post',
  path: '/queues/{queue}/jobs/{id}/progress',
  summary: "Update a running job's progress (job token auth)",
  request: {
    params: jobParamsSchema,
    body: { content: { 'application/json': { schema: z.unknown() } } },
  },
  responses: jobTokenResponses,
});

const addLogRoute = createRoute({
  method: 'post',
  path: '/queues/{queue}/jobs/{id}/logs',
  summary: 'Add a log line to a running job (job token auth)',
  request: {
    params: jobParamsSchema,
    body: {
      content: {
        'application/json': { schema: logLineSchema },
        'text/plain': { schema: z.string().max(MAX_LOG_LINE_CHARS) },
      },
    },
  },
  responses: jobTokenResponses,
});

const getLogsRoute = createRoute({
  method: 'get',
  path: '/queues/{queue}/jobs/{id}/logs',
  summary: "Read a job's log lines",
  request: { params: jobParamsSchema, query: logsQuerySchema },
  responses: {
    200: responseJson('Log lines', z.object({ logs: z.array(z.string()), count: z.number() })),
    404: responseJson('Unknown job', errorResponseSchema),
  },
});

/** BullMQ's progress and log scripts fail with this when the job hash is gone. */
function isMissingJobError(error: unknown): boolean {
  return error instanceof Error && /Missing key for job/i.test(error.message);
}

async function readLogLine(c: Context): Promise<string> {
  if (mediaTypeOf(c) === 'text/plain') {
    return parseOrThrow(logLineSchema, await readBodyText(c), 'log line');
  }
  return parseOrThrow(logLineSchema, await readJsonBody(c), 'log line');
}

export function registerJobCallbackRoutes(app: ApiApp, deps: ApiDeps): void {
  const { queues, jobTokens, jobLogs } = deps;

  const authorize = async (c: Context) => {
    const params = parseOrThrow(jobParamsSchema, c.req.param(), 'path', ['path']);
    readQuery(c, noQuerySchema);
    await jobTokens.verify(params.queue, params.id, readBearerToken(c.req.header('authorization')));
    return params;
  };

  const notFound = (queue: string, id: string) =>
    new NotFoundError(`Job "${id}" was not found in queue "${queue}".`);

  registerDocumentedRoute(app, progressRoute);
  app.post('/queues/:queue/jobs/:id/progress', async (c) => {
    const { queue, id } = await authorize(c);
    const progress = await readJsonBody(c);
    try {
      await queues.get(queue).updateJobProgress(id, progress as number | object);
    } catch (error) {
      if (isMissingJobError(error)) throw notFound(queue, id);
      throw error;
    }
    return c.json({ ok: true as const });
  });

  registerDocumentedRoute(app, addLogRoute);
  app.post('/queues/:queue/jobs/:id/logs', async (c) => {
    const { queue, id } = await authorize(c);
    const line = await readLogLine(c);
    try {
      await queues.get(queue).addJobLog(id, line);
    } catch (error) {
      if (isMissingJobError(error)) throw notFound(queue, id);
      throw error;
    }
    return c.json({ ok: true as const });
  });

  registerDocumentedRoute(app, getLogsRoute);
  app.get('/queues/:queue/jobs/:id/logs', async (c) => {
    const { queue: name, id } = parseOrThrow(jobParamsSchema, c.req.param(), 'path', ['path']);
    const { start, length } = readQuery(c, logsQuerySchema);
    const [job, logs] = await Promise.all([
      findJob(queues.get(name), id),
      jobLogs.read(name, id, { start, length }),
    ]);
    if (!job) throw notFound(name, id);
    return c.json(logs);
  });
}
