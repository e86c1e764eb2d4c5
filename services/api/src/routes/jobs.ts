import { jobListSchema, NotFoundError, parseOrThrow, toJobJson } from '@bullpen/core';
import { createRoute, z } from '@hono/zod-openapi';
import { addJobs } from '../add-jobs';
import { readJsonBody } from '../body';
import { findJob } from '../find-job';
import { noQuerySchema, readQuery } from '../query';
import { checkRepeatSchedules } from '../repeat-schedule';
import { responseJson, type ApiApp, type ApiDeps } from '../deps';
import { registerDocumentedRoute } from '../openapi';
import {
  errorResponseSchema,
  jobJsonSchema,
  jobParamsSchema,
  listJobsQuerySchema,
  queueParamsSchema,
} from './schemas';

const addJobsRoute = createRoute({
  method: 'post',
  path: '/queues/{queue}/jobs',
  summary:
    'Add jobs; the whole list is validated before any is added, and repeating jobs create job schedulers',
  request: {
    params: queueParamsSchema,
    body: { content: { 'application/json': { schema: jobListSchema } } },
  },
  responses: {
    200: responseJson(
      'The jobs in request order; an existing job found by id or deduplication id has "duplicate": true',
      z.array(jobJsonSchema),
    ),
    400: responseJson('Invalid jobs', errorResponseSchema),
  },
});

const listJobsRoute = createRoute({
  method: 'get',
  path: '/queues/{queue}/jobs',
  summary: 'List jobs by state',
  request: { params: queueParamsSchema, query: listJobsQuerySchema },
  responses: {
    200: responseJson(
      'Jobs and counts',
      z.object({
        counts: z.record(z.string(), z.number()),
        jobs: z.array(jobJsonSchema),
        start: z.number(),
        length: z.number(),
      }),
    ),
  },
});

const getJobRoute = createRoute({
  method: 'get',
  path: '/queues/{queue}/jobs/{id}',
  summary: 'Get one job with its state',
  request: { params: jobParamsSchema },
  responses: {
    200: responseJson('The job', jobJsonSchema),
    404: responseJson('Unknown job', errorResponseSchema),
  },
});

export function registerJobRoutes(app: ApiApp, deps: ApiDeps): void {
  const { queues } = deps;

  registerDocumentedRoute(app, addJobsRoute);
  app.post('/queues/:queue/jobs', async (c) => {
    const { queue } = parseOrThrow(queueParamsSchema, c.req.param(), 'path', ['path']);
    readQuery(c, noQuerySchema);
    const jobs = parseOrThrow(jobListSchema, await readJsonBody(c), 'jobs');
    checkRepeatSchedules(jobs, Date.now());
    return c.json(await addJobs(queues.get(queue), jobs));
  });

  registerDocumentedRoute(app, listJobsRoute);
  app.get('/queues/:queue/jobs', async (c) => {
    const { queue: name } = parseOrThrow(queueParamsSchema, c.req.param(), 'path', ['path']);
    const { statuses, start, length } = readQuery(c, listJobsQuerySchema);

    const queue = queues.get(name);
    const [counts, jobs] = await Promise.all([
      queue.getJobCounts(...statuses),
      queue.getJobs(statuses, start, start + length - 1),
    ]);
    // A job removed between the index read and the hash read comes back empty.
    const present = jobs.filter((job) => job !== undefined && job !== null);
    return c.json({ counts, jobs: present.map((job) => toJobJson(job)), start, length });
  });

  registerDocumentedRoute(app, getJobRoute);
  app.get('/queues/:queue/jobs/:id', async (c) => {
    const { queue: name, id } = parseOrThrow(jobParamsSchema, c.req.param(), 'path', ['path']);
    readQuery(c, noQuerySchema);
    const queue = queues.get(name);
    let job = await findJob(queue, id);
    if (!job) throw new NotFoundError(`Job "${id}" was not found in queue "${name}".`);
    const state = await job.getState();

    // The hash and the state are two reads. A job that finished between them would show a
    // final state with the fields of its running attempt, so read the fields once more.
    if ((state === 'completed' || state === 'failed') && job.finishedOn === undefined) {
      job = (await findJob(queue, id)) ?? job;
    }
    return c.json(toJobJson(job, state));
  });
}
