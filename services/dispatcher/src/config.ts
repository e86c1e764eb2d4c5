import { z } from 'zod';
import {
  envSchemas,
  parseEnv,
  redisConfigFromEnv,
  redisEnvSchema,
  type EndpointAllowlist,
  type Env,
  type RedisConfig,
} from '@bullpen/core';

/** Everything the dispatcher reads from its environment, parsed once at start. */
export interface DispatcherConfig {
  readonly redis: RedisConfig;
  /** BullMQ key prefix of every queue; `bull` by default, BullMQ's own default. */
  readonly queuePrefix: string;
  /** Host names and ranges that endpoints may reach despite the forbidden address ranges. */
  readonly endpointAllowlist: EndpointAllowlist;
  /** API base URL sent to endpoints as `callbackUrl`, for progress and log callbacks. */
  readonly publicApiUrl: string;
  readonly logLevel: string;
  /** Port of the metrics and health server; 0 picks a free port. */
  readonly metricsPort: number;
  readonly metricsHost: string;
  /** How long in-flight calls may run after SIGTERM before they are cut off and requeued. */
  readonly shutdownGraceMs: number;
  /** Interval between full reads of the registry hash, which heal any missed change event. */
  readonly reconcileIntervalMs: number;
  /** Back-off of a throttled queue when the endpoint sends no Retry-After. */
  readonly throttleDelayMs: number;
  /** Whether to print the backlog metric in CloudWatch Embedded Metric Format. */
  readonly cloudWatchMetrics: boolean;
  /** Interval between two backlog metric lines. */
  readonly cloudWatchMetricsIntervalMs: number;
  /** Value of the `ServiceName` dimension of the backlog metric. */
  readonly serviceName: string;
  /** Default region of Lambda calls and of SigV4-signed HTTP calls. */
  readonly awsRegion?: string;
  /** Lambda API endpoint override, for LocalStack or the local Lambda host. */
  readonly lambdaEndpoint?: string;
}

const DEFAULT_METRICS_PORT = 9464;
/** Below the 30 s that ECS waits by default between SIGTERM and SIGKILL. */
const DEFAULT_SHUTDOWN_GRACE_MS = 25_000;
const DEFAULT_RECONCILE_INTERVAL_MS = 30_000;
const DEFAULT_THROTTLE_DELAY_MS = 1_000;
const CLOUDWATCH_METRICS_INTERVAL_MS = 60_000;

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const dispatcherEnvSchema = redisEnvSchema.extend({
  QUEUE_PREFIX: envSchemas.queuePrefix,
  ENDPOINT_ALLOWLIST: envSchemas.endpointAllowlist,
  PUBLIC_API_URL: z
    .string({
      error:
        'is required: set it to the API base URL that endpoints call back, such as http://api:8080',
    })
    .pipe(envSchemas.url),
  LOG_LEVEL: envSchemas.logLevel,
  METRICS_PORT: envSchemas.port(DEFAULT_METRICS_PORT),
  METRICS_HOST: z.string().min(1, { error: 'must not be empty' }).default('0.0.0.0'),
  SHUTDOWN_GRACE_MS: envSchemas.positiveMs(DEFAULT_SHUTDOWN_GRACE_MS),
  RECONCILE_INTERVAL_MS: envSchemas.positiveMs(DEFAULT_RECONCILE_INTERVAL_MS),
  THROTTLE_DELAY_MS: envSchemas.positiveMs(DEFAULT_THROTTLE_DELAY_MS),
  CLOUDWATCH_METRICS: envSchemas.boolean(false),
  SERVICE_NAME: z.string().min(1, { error: 'must not be empty' }).default('bullpen-dispatcher'),
  AWS_REGION: optionalText.pipe(
    z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: 'must be an AWS region such as us-east-1' })
      .optional(),
  ),
  AWS_ENDPOINT_URL_LAMBDA: optionalText.pipe(envSchemas.url.optional()),
  AWS_ENDPOINT_URL: optionalText.pipe(envSchemas.url.optional()),
});

/**
 * Parses the dispatcher's environment. Throws a ConfigError naming the first invalid
 * variable. `AWS_ENDPOINT_URL_LAMBDA` wins over `AWS_ENDPOINT_URL`, as in the AWS SDK.
 */
export function loadDispatcherConfig(env: Env = process.env): DispatcherConfig {
  const parsed = parseEnv(dispatcherEnvSchema, env);
  return {
    redis: redisConfigFromEnv(parsed),
    queuePrefix: parsed.QUEUE_PREFIX,
    endpointAllowlist: parsed.ENDPOINT_ALLOWLIST,
    publicApiUrl: parsed.PUBLIC_API_URL,
    logLevel: parsed.LOG_LEVEL,
    metricsPort: parsed.METRICS_PORT,
    metricsHost: parsed.METRICS_HOST,
    shutdownGraceMs: parsed.SHUTDOWN_GRACE_MS,
    reconcileIntervalMs: parsed.RECONCILE_INTERVAL_MS,
    throttleDelayMs: parsed.THROTTLE_DELAY_MS,
    cloudWatchMetrics: parsed.CLOUDWATCH_METRICS,
    cloudWatchMetricsIntervalMs: CLOUDWATCH_METRICS_INTERVAL_MS,
    serviceName: parsed.SERVICE_NAME,
    awsRegion: parsed.AWS_REGION,
    lambdaEndpoint: parsed.AWS_ENDPOINT_URL_LAMBDA ?? parsed.AWS_ENDPOINT_URL,
  };
}
