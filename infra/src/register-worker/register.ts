import {
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import type {
  CloudFormationCustomResourceEvent,
  CloudFormationCustomResourceResourcePropertiesCommon,
} from 'aws-lambda';
import type { Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import { WorkerRegistrationError } from './errors';

/** The one Secrets Manager call the handler makes; `SecretsManagerClient` satisfies it. */
export interface SecretsClient {
  send(command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput>;
}

/** Properties of the custom resource, as CloudFormation passes them. */
export interface WorkerRegistrationProperties extends CloudFormationCustomResourceResourcePropertiesCommon {
  /** The `POST /workers` body as JSON text, since CloudFormation turns numbers into strings. */
  readonly Registration: string;
}

export type WorkerRegistrationEvent =
  CloudFormationCustomResourceEvent<WorkerRegistrationProperties>;

/** Result the custom resource provider framework expects from the handler. */
export interface WorkerRegistrationResult {
  readonly PhysicalResourceId: string;
  readonly Data: { readonly Queue: string };
}

export interface WorkerRegistrationHandlerOptions {
  /** Base URL of the Bullpen API, such as `http://internal-alb.example`. */
  readonly apiUrl: string;
  /** ARN or name of the secret whose string is the API bearer token. */
  readonly tokenSecretId: string;
  readonly secrets: SecretsClient;
  readonly logger: Logger;
  /** undici dispatcher for the API calls; default undici's global one. */
  readonly dispatcher?: Dispatcher;
  /** Time allowed for one API call, headers and body together; default 10 s. */
  readonly requestTimeoutMs?: number;
  /**
   * Attempts of a call that got no response or a 502, 503 or 504, which the load balancer
   * returns while the API tasks are still registering. Default 6.
   */
  readonly attempts?: number;
  /** Pause between two attempts; default 5 s. */
  readonly retryDelayMs?: number;
}

interface ApiAnswer {
  readonly status: number;
  readonly body: string;
}

const RETRIED_STATUSES = new Set([502, 503, 504]);

/**
 * Creates the custom resource handler that keeps one worker registered in the Bullpen API:
 * Create and Update send `POST /workers`, Delete sends `DELETE /workers/:queue`, where a
 * 404 counts as done. The physical id is the queue name, so renaming the queue makes
 * CloudFormation delete the old registration after the new one exists.
 */
export function createWorkerRegistrationHandler(
  options: WorkerRegistrationHandlerOptions,
): (event: WorkerRegistrationEvent) => Promise<WorkerRegistrationResult> {
  let token: Promise<string> | undefined;
  const readToken = (): Promise<string> => {
    token ??= fetchToken(options.secrets, options.tokenSecretId).catch((error: unknown) => {
      token = undefined;
      throw error;
    });
    return token;
  };
  // A rotated token would otherwise keep failing until the execution environment is recycled.
  const forgetToken = (): void => {
    token = undefined;
  };

  return async (event) => {
    const registration = parseRegistration(event.ResourceProperties.Registration);
    const queue = registration.queue;
    const log = options.logger.child({ queue, requestType: event.RequestType });

    if (event.RequestType === 'Delete') {
      const answer = await callApi(options, await readToken(), queue, {
        method: 'DELETE',
        path: `/workers/${encodeURIComponent(queue)}`,
      });
      if (answer.status !== 200 && answer.status !== 404) {
        throw failedCall('DELETE', queue, answer, forgetToken);
      }
      log.info({ status: answer.status }, 'worker registration deleted');
      return { PhysicalResourceId: queue, Data: { Queue: queue } };
    }

    const answer = await callApi(options, await readToken(), queue, {
      method: 'POST',
      path: '/workers',
      body: JSON.stringify(registration),
    });
    if (answer.status !== 200) throw failedCall('POST', queue, answer, forgetToken);
    log.info('worker registered');
    return { PhysicalResourceId: queue, Data: { Queue: queue } };
  };
}

async function fetchToken(secrets: SecretsClient, secretId: string): Promise<string> {
  const output = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  const value = output.SecretString?.trim();
  if (!value) {
    throw new Error(
      `Secret ${secretId} has no SecretString; store the API bearer token in it as text.`,
    );
  }
  // AUTH_TOKENS is a comma list; any one of its tokens authenticates.
  const first = value.split(',')[0]?.trim() ?? '';
  if (first === '') {
    throw new Error(`Secret ${secretId} starts with an empty token; remove the leading comma.`);
  }
  return first;
}

function parseRegistration(text: string | undefined): { queue: string } & Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text ?? '');
  } catch {
    throw new Error('The Registration property is not JSON; it must be the POST /workers body.');
  }
  const queue = (parsed as { queue?: unknown } | null)?.queue;
  if (typeof queue !== 'string' || queue === '') {
    throw new Error('The Registration property has no "queue" string; set the queue name.');
  }
  return parsed as { queue: string } & Record<string, unknown>;
}

async function callApi(
  options: WorkerRegistrationHandlerOptions,
  token: string,
  queue: string,
  call: { method: 'POST' | 'DELETE'; path: string; body?: string },
): Promise<ApiAnswer> {
  const attempts = options.attempts ?? 6;
  const url = new URL(call.path, options.apiUrl).toString();
  let lastError: unknown;

  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    try {
      const answer = await sendOnce(options, token, url, call);
      if (!RETRIED_STATUSES.has(answer.status) || attempt === attempts) return answer;
      lastError = undefined;
      options.logger.warn(
        { queue, method: call.method, status: answer.status, attempt },
        'api not ready; retrying',
      );
    } catch (error) {
      lastError = error;
      options.logger.warn(
        { queue, method: call.method, err: error, attempt },
        'api call failed; retrying',
      );
    }
    if (attempt < attempts) await sleep(options.retryDelayMs ?? 5000);
  }

  throw new WorkerRegistrationError(
    `${call.method} ${url} for queue "${queue}" got no response after ${attempts} attempts: ` +
      `${(lastError as Error | undefined)?.message ?? 'unknown error'}. ` +
      'Check that the API service is running and reachable from the custom resource function.',
    { queue, cause: lastError },
  );
}

async function sendOnce(
  options: WorkerRegistrationHandlerOptions,
  token: string,
  url: string,
  call: { method: 'POST' | 'DELETE'; body?: string },
): Promise<ApiAnswer> {
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const response = await request(url, {
    method: call.method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: call.body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    dispatcher: options.dispatcher,
  });
  return { status: response.statusCode, body: await response.body.text() };
}

function failedCall(
  method: string,
  queue: string,
  answer: ApiAnswer,
  forgetToken: () => void,
): WorkerRegistrationError {
  let fix = 'Fix the worker props and deploy again.';
  if (answer.status === 401) {
    forgetToken();
    fix = "Check that the token secret holds one of the API's AUTH_TOKENS.";
  }
  return new WorkerRegistrationError(
    `${method} of the worker for queue "${queue}" failed with HTTP ${answer.status}: ` +
      `${describeApiError(answer.body)}. ${fix}`,
    { queue, status: answer.status },
  );
}

/** Formats the API's error message and issue paths, or the start of a body that is not its JSON. */
function describeApiError(body: string): string {
  try {
    const parsed = JSON.parse(body) as {
      error?: { message?: string; issues?: { path?: string; message?: string }[] };
    };
    const message = parsed.error?.message ?? 'no message';
    const issues = (parsed.error?.issues ?? [])
      .map((issue) => `${issue.path ?? '?'}: ${issue.message ?? '?'}`)
      .join('; ');
    return issues === '' ? message : `${message} (${issues})`;
  } catch {
    return body.slice(0, 200) || 'empty body';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
