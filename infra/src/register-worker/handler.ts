import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import pino from 'pino';
import { loadRegisterWorkerConfig } from './config';
import { createWorkerRegistrationHandler } from './register';

// Built once per execution environment, so warm invocations reuse the client and token.
const config = loadRegisterWorkerConfig(process.env);

/** Lambda entry of the worker registration custom resource. */
export const handler = createWorkerRegistrationHandler({
  apiUrl: config.apiUrl,
  tokenSecretId: config.tokenSecretId,
  secrets: new SecretsManagerClient({}),
  logger: pino({ name: 'bullpen-register-worker', level: config.logLevel }),
});
