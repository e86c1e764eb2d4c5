import { MethodNotAllowedError, NotFoundError, WorkerRegistry, type Logger } from '@bullpen/core';
import { OpenAPIHono } from '@hono/zod-openapi';
import { requestId } from 'hono/request-id';
import type { Redis } from 'ioredis';
import { indexAllowedMethods } from './allowed-methods';
import type { ApiConfig } from './config';
import type { ApiApp, ApiDeps, ApiEnv } from './deps';
import { createErrorHandler, createRedisWarnings } from './errors';
import { JobLogReader } from './job-logs';
import { JobTokenVerifier } from './job-token';
import { bearerAuth } from './middleware/auth';
import { limitBodySize } from './middleware/body-limit';
import { rejectMalformedPath } from './middleware/path';
import { requireRedis } from './middleware/redis-ready';
import { registerSecuritySchemes } from './openapi';
import { rejectQuery } from './query';
import { QueueCache } from './queues';
import { isJobCallback, PUBLIC_PATHS } from './route-access';
import { registerHealthRoutes } from './routes/health';
import { registerJobCallbackRoutes } from './routes/job-callbacks';
import { registerJobRoutes } from './routes/jobs';
import { registerWorkerRoutes } from './routes/workers';

export interface AppOptions {
  readonly config: ApiConfig;
  /** Connection for routes; it should fail fast (no offline queue, a command timeout). */
  readonly redis: Redis;
  readonly logger: Logger;
  /**
   * Shortest time between two warn lines about requests that got 503 because Redis is
   * unavailable or out of memory; the lines in between are counted. Default 5000 ms.
   */
  readonly redisWarnIntervalMs?: number;
}

const DEFAULT_REDIS_WARN_INTERVAL_MS = 5000;

/** Builds the Hono app with every route; the caller owns the Redis connection. */
export function createApp(options: AppOptions): { app: ApiApp; deps: ApiDeps } {
  const { config, redis, logger } = options;
  const deps: ApiDeps = {
    config,
    redis,
    logger,
    redisWarnings: createRedisWarnings(
      logger,
      options.redisWarnIntervalMs ?? DEFAULT_REDIS_WARN_INTERVAL_MS,
    ),
    registry: new WorkerRegistry(redis, config.queuePrefix),
    queues: new QueueCache(redis, config.queuePrefix, logger),
    jobTokens: new JobTokenVerifier(redis, config.queuePrefix),
    jobLogs: new JobLogReader(redis, config.queuePrefix),
  };

  const app: ApiApp = new OpenAPIHono<ApiEnv>();
  const auth = bearerAuth({ tokens: config.authTokens, disabled: config.authDisabled });
  const redisGuard = requireRedis(redis, config.redisTimeoutMs);

  app.onError(createErrorHandler(logger, deps.redisWarnings));
  // Set once every route is registered, below.
  let allowedMethodsFor: (path: string) => string[] = () => [];
  app.notFound((c) => {
    const allowed = allowedMethodsFor(c.req.path);
    if (allowed.length > 0) throw new MethodNotAllowedError(c.req.method, allowed);
    throw new NotFoundError('No route matches this method and path.');
  });

  app.use('*', requestId());
  app.use('*', rejectMalformedPath());
  app.use('*', limitBodySize(config.maxBodyBytes));
  app.use('*', async (c, next) => {
    if (PUBLIC_PATHS.has(c.req.path) || isJobCallback(c.req.method, c.req.path)) return next();
    return auth(c, next);
  });
  app.use('*', async (c, next) => {
    if (c.req.path === '/health' || c.req.path === '/openapi.json') return next();
    return redisGuard(c, next);
  });

  registerSecuritySchemes(app);
  registerHealthRoutes(app, deps);
  registerWorkerRoutes(app, deps);
  registerJobRoutes(app, deps);
  registerJobCallbackRoutes(app, deps);

  app.use('/openapi.json', rejectQuery());
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Bullpen API',
      version: '0.1.0',
      description: 'BullMQ queues whose workers are AWS Lambda functions or HTTP endpoints.',
    },
    ...(config.publicApiUrl ? { servers: [{ url: config.publicApiUrl }] } : {}),
  });

  allowedMethodsFor = indexAllowedMethods(app.routes);
  return { app, deps };
}
