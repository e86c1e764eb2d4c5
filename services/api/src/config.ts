import {
  envSchemas,
  parseEnv,
  redisConfigFromEnv,
  redisEnvSchema,
  type EndpointAllowlist,
  type Env,
  type RedisConfig,
} from '@bullpen/core';
import { z } from 'zod';

export interface ApiConfig {
  readonly port: number;
  readonly host: string;
  readonly redis: RedisConfig;
  readonly queuePrefix: string;
  /** Bearer tokens accepted on every route except health. */
  readonly authTokens: readonly string[];
  /** Lets every request through without a token; for local development only. */
  readonly authDisabled: boolean;
  readonly endpointAllowlist: EndpointAllowlist;
  /** Base URL endpoints call back; listed as the server in the OpenAPI document. */
  readonly publicApiUrl?: string;
  readonly logLevel: string;
  /** Largest request body accepted. */
  readonly maxBodyBytes: number;
  /** How long a route waits for Redis before it returns 503. */
  readonly redisTimeoutMs: number;
}

/**
 * Characters a configured token may contain: visible ASCII. Node.js reads header bytes above
 * 0x7F as Latin-1, and `readBearerToken` stops at whitespace, so a token with other
 * characters would never match the header a client sends.
 */
const BEARER_TOKEN_PATTERN = /^[\x21-\x7e]+$/;

const apiEnvSchema = redisEnvSchema.extend({
  PORT: envSchemas.port(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  QUEUE_PREFIX: envSchemas.queuePrefix,
  AUTH_TOKENS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      // Only ASCII spaces and tabs are trimmed: trim() would also drop U+00A0 or U+FEFF, and a
      // token pasted with one would then work without it.
      const entries = value.split(',').map((token) => token.replace(/^[ \t]+|[ \t]+$/g, ''));
      // Positions count every comma-separated entry, empty ones included, as a reader does.
      const invalidPositions = entries.flatMap((token, index) =>
        token === '' || BEARER_TOKEN_PATTERN.test(token) ? [] : [index + 1],
      );
      if (invalidPositions.length > 0) {
        const [first] = invalidPositions;
        const subject =
          invalidPositions.length === 1
            ? `entry ${first} contains`
            : `entries ${invalidPositions.join(', ')} contain`;
        // The message gives the tokens' positions, never the tokens, which are secrets.
        ctx.addIssue({
          code: 'custom',
          message:
            `${subject} a space or a character outside visible ASCII, so no request could ` +
            'match; use only ASCII letters, digits and punctuation',
        });
      }
      return entries.filter((token) => token !== '');
    }),
  AUTH_DISABLED: envSchemas.boolean(false),
  ENDPOINT_ALLOWLIST: envSchemas.endpointAllowlist,
  PUBLIC_API_URL: envSchemas.url.optional(),
  LOG_LEVEL: envSchemas.logLevel,
  MAX_BODY_BYTES: z.coerce
    .number({ error: 'must be a number of bytes' })
    .int({ error: 'must be an integer number of bytes' })
    .min(1024, { error: 'must be at least 1024' })
    .max(64 * 1024 * 1024, { error: 'must be at most 67108864 (64 MiB)' })
    .default(10 * 1024 * 1024),
  REDIS_TIMEOUT_MS: envSchemas.positiveMs(1500),
});

/** Reads the API's configuration from environment variables, failing on the first bad one. */
export function loadApiConfig(env: Env): ApiConfig {
  const parsed = parseEnv(apiEnvSchema, env);
  return {
    port: parsed.PORT,
    host: parsed.HOST,
    redis: redisConfigFromEnv(parsed),
    queuePrefix: parsed.QUEUE_PREFIX,
    authTokens: parsed.AUTH_TOKENS,
    authDisabled: parsed.AUTH_DISABLED,
    endpointAllowlist: parsed.ENDPOINT_ALLOWLIST,
    publicApiUrl: parsed.PUBLIC_API_URL,
    logLevel: parsed.LOG_LEVEL,
    maxBodyBytes: parsed.MAX_BODY_BYTES,
    redisTimeoutMs: parsed.REDIS_TIMEOUT_MS,
  };
}
