import type { Logger, WorkerRegistry } from '@bullpen/core';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { z } from 'zod';
import type { Redis } from 'ioredis';
import type { ApiConfig } from './config';
import type { RedisWarnings } from './errors';
import type { JobLogReader } from './job-logs';
import type { JobTokenVerifier } from './job-token';
import type { QueueCache } from './queues';

/** Dependencies of the routes and the error handler, built once per app. */
export interface ApiDeps {
  readonly config: ApiConfig;
  readonly redis: Redis;
  readonly redisWarnings: RedisWarnings;
  readonly registry: WorkerRegistry;
  readonly queues: QueueCache;
  readonly jobTokens: JobTokenVerifier;
  readonly jobLogs: JobLogReader;
  readonly logger: Logger;
}

export type ApiEnv = { Variables: { requestId: string } };
export type ApiApp = OpenAPIHono<ApiEnv>;

/** Describes a JSON response in the OpenAPI document. */
export function responseJson(description: string, schema: z.ZodType) {
  return { description, content: { 'application/json': { schema } } };
}
