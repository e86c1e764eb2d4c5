import { z } from 'zod';
import { parseEndpointAllowlist, type EndpointAllowlist } from './endpoint-address';
import { ConfigError } from './errors';
import { DEFAULT_QUEUE_PREFIX } from './keys';
import { queueNameSchema } from './schemas/queue';

export type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const booleanText = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** zod schemas for variables every service reads; services compose their own from these. */
export const envSchemas = {
  port: (defaultPort: number) =>
    z.coerce
      .number({ error: 'must be a port number' })
      .int({ error: 'must be an integer' })
      .min(0, { error: 'must be 0 to 65535' })
      .max(65535, { error: 'must be 0 to 65535' })
      .default(defaultPort),
  positiveMs: (defaultMs: number) =>
    z.coerce
      .number({ error: 'must be a number of milliseconds' })
      .int({ error: 'must be an integer number of milliseconds' })
      .min(1, { error: 'must be at least 1' })
      .default(defaultMs),
  boolean: (defaultValue: boolean) => booleanText.default(defaultValue),
  logLevel: z
    .enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` })
    .default('info'),
  queuePrefix: z
    .string()
    .min(1, { error: 'must not be empty' })
    .max(64, { error: 'must be at most 64 characters' })
    .refine((prefix) => !/[\s{}]/.test(prefix), {
      error: 'must not contain white space or braces',
    })
    .default(DEFAULT_QUEUE_PREFIX),
  endpointAllowlist: z
    .string()
    .default('')
    .transform((value, ctx): EndpointAllowlist => {
      try {
        return parseEndpointAllowlist(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  queueName: queueNameSchema,
};

/** How to reach Redis: a URL, or the BullMQ Proxy style host, port and credentials. */
export interface RedisConfig {
  readonly url?: string;
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  readonly tls: boolean;
}

export const redisEnvSchema = z.object({
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' })
    .optional(),
  REDIS_HOST: z.string().min(1).default('127.0.0.1'),
  REDIS_PORT: envSchemas.port(6379),
  REDIS_USERNAME: z.string().optional(),
  REDIS_PASSWORD: z.string().optional(),
  REDIS_TLS: envSchemas.boolean(false),
});

export function redisConfigFromEnv(env: z.output<typeof redisEnvSchema>): RedisConfig {
  return {
    url: env.REDIS_URL,
    host: env.REDIS_HOST,
    port: env.REDIS_PORT,
    username: env.REDIS_USERNAME || undefined,
    password: env.REDIS_PASSWORD || undefined,
    tls: env.REDIS_TLS,
  };
}

/**
 * Parses `env` with `schema`. On failure throws a ConfigError naming the first bad variable,
 * the value's problem and nothing of the value itself, since it may be a secret.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: Env): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const variable = String(issue?.path[0] ?? 'environment');
  throw new ConfigError(variable, issue?.message ?? 'is invalid');
}
