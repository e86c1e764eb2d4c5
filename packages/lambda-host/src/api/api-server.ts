import crypto from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { FunctionRunner } from '../execution/function-runner';
import type { FunctionIdentity, ResolvedFunction } from '../function-definition';
import { functionConfiguration, type ConfigurationContext } from './function-configuration';
import { resolveFunctionTarget } from './function-reference';
import { sendJson } from './http-io';
import { handleInvoke } from './invoke';
import {
  LambdaApiError,
  serviceFault,
  unknownOperation,
  validationFailed,
} from './lambda-api-error';

/** The two operations served: Invoke and GetFunctionConfiguration. */
const FUNCTION_ROUTE = /^\/2015-03-31\/functions\/([^/]+)\/(invocations|configuration)\/?$/;

export interface ApiServerOptions {
  readonly functions: ReadonlyMap<string, ResolvedFunction>;
  readonly runners: ReadonlyMap<string, FunctionRunner>;
  readonly identity: FunctionIdentity;
  readonly configuration: ConfigurationContext;
  readonly logger: Logger;
  readonly trackBackground: (invocation: Promise<unknown>) => void;
}

/**
 * Creates the HTTP server of the Lambda REST API. Requests may carry any SigV4 Authorization
 * header; the host does not check signatures.
 */
export function createApiServer(options: ApiServerOptions): http.Server {
  return http.createServer((request, response) => {
    const requestId = crypto.randomUUID();
    response.setHeader('x-amzn-RequestId', requestId);
    routeRequest(options, requestId, request, response).catch((error: unknown) =>
      sendError(options.logger, response, error),
    );
  });
}

async function routeRequest(
  options: ApiServerOptions,
  requestId: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const method = request.method ?? 'GET';
  const url = new URL(request.url ?? '/', 'http://lambda.local');
  const match = FUNCTION_ROUTE.exec(url.pathname);
  const operation = match?.[2];
  const isInvoke = operation === 'invocations' && method === 'POST';
  const isConfiguration = operation === 'configuration' && method === 'GET';
  if (match === null || (!isInvoke && !isConfiguration)) {
    throw unknownOperation(method, url.pathname);
  }

  const target = resolveFunctionTarget(
    options.functions,
    options.identity,
    decodePathSegment(match[1] ?? ''),
    url.searchParams.get('Qualifier') || undefined,
  );

  if (isConfiguration) {
    sendJson(response, 200, {}, await functionConfiguration(target, options.configuration));
    return;
  }

  const runner = options.runners.get(target.fn.name);
  if (runner === undefined) throw new Error(`no runner for function ${target.fn.name}`);
  await handleInvoke(
    { runner, logger: options.logger, trackBackground: options.trackBackground },
    target,
    requestId,
    request,
    response,
  );
}

/** Decodes the FunctionName path segment, which the SDK percent-encodes (`:` as `%3A`). */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw validationFailed(`FunctionName path segment "${segment}" has a malformed percent escape`);
  }
}

/** Sends a LambdaApiError as Lambda does; any other error becomes a ServiceException. */
function sendError(logger: Logger, response: ServerResponse, error: unknown): void {
  if (response.headersSent) {
    logger.error({ err: error }, 'lambda api request failed after its response started');
    response.destroy();
    return;
  }

  let apiError: LambdaApiError;
  if (error instanceof LambdaApiError) {
    apiError = error;
    logger.debug({ errorType: apiError.errorType, status: apiError.status }, 'lambda api error');
  } else {
    apiError = serviceFault();
    logger.error({ err: error }, 'lambda api request failed');
  }
  sendJson(
    response,
    apiError.status,
    { 'x-amzn-ErrorType': apiError.errorType, ...apiError.headers },
    apiError.toBody(),
  );
}
