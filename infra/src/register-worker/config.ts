import { z } from 'zod';

export interface RegisterWorkerConfig {
  readonly apiUrl: string;
  readonly tokenSecretId: string;
  readonly logLevel: string;
}

const envSchema = z.object({
  BULLPEN_API_URL: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  BULLPEN_API_TOKEN_SECRET_ID: z.string().min(1, { error: 'must name the API token secret' }),
  LOG_LEVEL: z.string().min(1).default('info'),
});

/** Reads the custom resource function's configuration, naming the first invalid variable. */
export function loadRegisterWorkerConfig(
  env: Readonly<Record<string, string | undefined>>,
): RegisterWorkerConfig {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`Invalid configuration: ${String(issue?.path[0])} ${issue?.message ?? ''}`);
  }
  return {
    apiUrl: result.data.BULLPEN_API_URL,
    tokenSecretId: result.data.BULLPEN_API_TOKEN_SECRET_ID,
    logLevel: result.data.LOG_LEVEL,
  };
}
