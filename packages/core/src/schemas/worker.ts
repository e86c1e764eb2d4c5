import { z } from 'zod';
import { integerSchema, millisecondsSchema } from './integer';
import { keepJobsSchema, normalizeKeepJobs, type KeepJobs } from './keep-jobs';
import { queueNameSchema } from './queue';

/** Lambda's own ceiling for a function's run time, and so for any call Bullpen makes. */
export const MAX_ENDPOINT_TIMEOUT_MS = 15 * 60 * 1000;
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
/** Lambda's synchronous invocation payload limit, which also bounds HTTP responses. */
export const MAX_RESPONSE_BYTES_LIMIT = 6 * 1024 * 1024;
export const MAX_WORKER_CONCURRENCY = 1000;

const timeoutMsSchema = millisecondsSchema({
  min: 1,
  max: MAX_ENDPOINT_TIMEOUT_MS,
  maxMessage: `must be at most ${MAX_ENDPOINT_TIMEOUT_MS} ms (15 minutes)`,
});

const maxResponseBytesSchema = integerSchema({
  min: 1,
  max: MAX_RESPONSE_BYTES_LIMIT,
  typeMessage: 'must be an integer number of bytes',
  minMessage: 'must be at least 1 byte',
  maxMessage: `must be at most ${MAX_RESPONSE_BYTES_LIMIT} bytes`,
});

const HEADER_NAME_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * Characters an HTTP field value may contain (RFC 9110): tab, space, visible ASCII and the
 * obs-text bytes 0x80-0xFF. undici, which the dispatcher sends requests with, rejects any
 * other character, so a registration with one would fail every job it dispatches.
 */
const HEADER_VALUE_PATTERN = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Headers the dispatcher sets itself or that belong to the connection, not the request. */
const RESERVED_HEADER_NAMES = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
  // undici rejects it, so every call with it would fail.
  'expect',
]);

/**
 * JSON.parse keeps a "__proto__" key as an own property, but zod 4's record output drops it, so
 * the header would be dropped without an error. It is rejected before the record is read.
 */
function rejectProtoKey(value: unknown, ctx: z.RefinementCtx): unknown {
  if (value !== null && typeof value === 'object' && Object.hasOwn(value, '__proto__')) {
    ctx.addIssue({
      code: 'custom',
      path: ['__proto__'],
      message: 'header names must not be "__proto__", which a JavaScript object cannot keep',
    });
  }
  return value;
}

const headerRecordSchema = z
  .record(
    z
      .string()
      .max(256, { error: 'header names must be at most 256 characters' })
      .regex(HEADER_NAME_PATTERN, { error: 'header names must be HTTP tokens' })
      .refine((name) => !RESERVED_HEADER_NAMES.has(name.toLowerCase()), {
        error: 'this header is set by the connection and cannot be registered',
      }),
    z
      .string({ error: 'header values must be strings' })
      .max(8192, { error: 'header values must be at most 8192 characters' })
      .regex(HEADER_VALUE_PATTERN, {
        error:
          'header values may contain only tab, space, visible ASCII and latin1 characters (no CR, LF, NUL, other control characters or emoji)',
      }),
    { error: 'must be an object of header names to string values' },
  )
  .refine((headers) => Object.keys(headers).length <= 64, { error: 'at most 64 headers' })
  .refine(
    (headers) => {
      const names = Object.keys(headers).map((name) => name.toLowerCase());
      return new Set(names).size === names.length;
    },
    { error: 'must not name a header twice; header names are case-insensitive' },
  );

const headersSchema = z.preprocess(rejectProtoKey, headerRecordSchema);

const httpUrlSchema = z
  .string({ error: 'must be a string' })
  .max(2048, { error: 'must be at most 2048 characters' })
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute http:// or https:// URL' });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: 'must use http or https' });
    }
    if (url.username !== '' || url.password !== '') {
      ctx.addIssue({
        code: 'custom',
        message: 'must not contain credentials; send them in "headers" instead',
      });
    }
  });

export const httpEndpointSchema = z.strictObject({
  type: z.literal('http').default('http'),
  url: httpUrlSchema,
  method: z
    .string()
    .transform((method) => method.toUpperCase())
    .pipe(z.enum(['POST', 'PUT', 'PATCH'], { error: 'must be POST, PUT or PATCH' }))
    .default('POST'),
  headers: headersSchema.optional(),
  timeout: timeoutMsSchema.default(DEFAULT_HTTP_TIMEOUT_MS),
  maxResponseBytes: maxResponseBytesSchema.default(DEFAULT_MAX_RESPONSE_BYTES),
  auth: z
    .strictObject({
      type: z.literal('aws-iam', { error: 'the only supported auth type is "aws-iam"' }),
      region: z
        .string()
        .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: 'must be an AWS region such as us-east-1' })
        .optional(),
    })
    .optional(),
});
export type HttpEndpoint = z.output<typeof httpEndpointSchema>;

/**
 * Function name, ARN or partial ARN with an optional qualifier, following the pattern of
 * the Lambda Invoke API's FunctionName parameter.
 */
const FUNCTION_NAME_PATTERN =
  /^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?$/;
const FUNCTION_ARN_PATTERN = /^arn:[a-z-]+:lambda:([a-z0-9-]+):\d{12}:function:/;

export const lambdaEndpointSchema = z.strictObject({
  type: z.literal('lambda'),
  functionName: z
    .string({ error: 'must be a string' })
    .min(1, { error: 'must not be empty' })
    .max(170, { error: 'must be at most 170 characters' })
    .regex(FUNCTION_NAME_PATTERN, {
      error: 'must be a function name, a function ARN or a partial ARN',
    }),
  qualifier: z
    .string()
    .min(1)
    .max(128)
    .regex(/^(\$LATEST|[a-zA-Z0-9-_]+)$/, { error: 'must be $LATEST, a version or an alias' })
    .optional(),
  timeout: timeoutMsSchema.optional(),
  maxResponseBytes: maxResponseBytesSchema.default(DEFAULT_MAX_RESPONSE_BYTES),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: 'must be an AWS region such as us-east-1' })
    .optional(),
});
export type LambdaEndpoint = z.output<typeof lambdaEndpointSchema>;

/** Region named in a full function ARN, if `functionName` is one. */
export function regionFromFunctionArn(functionName: string): string | undefined {
  return FUNCTION_ARN_PATTERN.exec(functionName)?.[1];
}

/**
 * An endpoint. `type` may be left out when `url` is present, the BullMQ Proxy shape.
 */
export const endpointSchema = z.preprocess(
  (value) => {
    if (value !== null && typeof value === 'object' && !('type' in value) && 'url' in value) {
      return { ...value, type: 'http' };
    }
    return value;
  },
  z.discriminatedUnion('type', [httpEndpointSchema, lambdaEndpointSchema], {
    error: 'must be an HTTP endpoint {"url": ...} or a Lambda endpoint {"type": "lambda", ...}',
  }),
);
export type Endpoint = HttpEndpoint | LambdaEndpoint;

/**
 * Maximum delay of a Node.js timer, 2^31 - 1 ms (about 24.8 days). BullMQ sets timers from
 * `stalledInterval`, `lockDuration` and the limiter's `duration`. Node.js runs a timer with a
 * longer delay after 1 ms, so a stalled-job check would loop and flood Redis with commands.
 */
export const MAX_TIMER_MS = 2_147_483_647;

const timerMsSchema = millisecondsSchema({
  min: 1,
  max: MAX_TIMER_MS,
  maxMessage: `must be at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest timer Node.js sets`,
});

export const workerOptionsSchema = z.strictObject({
  concurrency: integerSchema({ min: 1, max: MAX_WORKER_CONCURRENCY }).optional(),
  globalConcurrency: integerSchema({ min: 1 }).optional(),
  limiter: z
    .strictObject({
      max: integerSchema({ min: 1 }),
      duration: timerMsSchema,
    })
    .optional(),
  removeOnComplete: keepJobsSchema.optional(),
  removeOnFail: keepJobsSchema.optional(),
  maxStalledCount: integerSchema({ min: 0, max: 1000, minMessage: 'must be >= 0' }).optional(),
  stalledInterval: timerMsSchema.optional(),
  lockDuration: timerMsSchema.optional(),
});

export const workerRegistrationSchema = z.strictObject({
  queue: queueNameSchema,
  endpoint: endpointSchema,
  opts: workerOptionsSchema.optional(),
});
export type WorkerRegistrationInput = z.input<typeof workerRegistrationSchema>;

/** Worker options in the form stored and handed to BullMQ: keep-jobs always objects. */
export interface WorkerOptions {
  concurrency?: number;
  globalConcurrency?: number;
  limiter?: { max: number; duration: number };
  removeOnComplete?: KeepJobs;
  removeOnFail?: KeepJobs;
  maxStalledCount?: number;
  stalledInterval?: number;
  lockDuration?: number;
}

export interface WorkerRegistration {
  queue: string;
  endpoint: Endpoint;
  opts: WorkerOptions;
}

/** Registration after validation, with defaults filled in and keep-jobs normalised. */
export const normalizedRegistrationSchema = workerRegistrationSchema.transform(
  (registration): WorkerRegistration => {
    const { removeOnComplete, removeOnFail, ...rest } = registration.opts ?? {};
    const opts: WorkerOptions = { ...rest };
    const complete = normalizeKeepJobs(removeOnComplete);
    const fail = normalizeKeepJobs(removeOnFail);
    if (complete) opts.removeOnComplete = complete;
    if (fail) opts.removeOnFail = fail;
    return { queue: registration.queue, endpoint: registration.endpoint, opts };
  },
);

/** Describes an endpoint for `GET /workers`: its URL or function name, never its headers. */
export function describeEndpoint(endpoint: Endpoint): string {
  if (endpoint.type === 'http') return endpoint.url;
  return endpoint.qualifier
    ? `${endpoint.functionName}:${endpoint.qualifier}`
    : endpoint.functionName;
}
