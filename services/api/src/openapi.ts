import type { ApiApp } from './deps';
import { responseJson } from './deps';
import { isJobCallback, PUBLIC_PATHS } from './route-access';
import { errorResponseSchema } from './routes/schemas';

type RouteConfig = Parameters<ApiApp['openAPIRegistry']['registerPath']>[0];
type ResponseConfig = RouteConfig['responses'][string];

const API_TOKEN_SCHEME = 'apiToken';
const JOB_TOKEN_SCHEME = 'jobToken';

/** Adds the two bearer schemes to the OpenAPI document's components. */
export function registerSecuritySchemes(app: ApiApp): void {
  app.openAPIRegistry.registerComponent('securitySchemes', API_TOKEN_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    description: 'One of the API tokens in AUTH_TOKENS.',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', JOB_TOKEN_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    description: 'The job token the endpoint received with the job, valid while that attempt runs.',
  });
}

/** Adds the Retry-After header, which every 503 caused by Redis carries, to a response. */
export function withRetryAfter(response: ResponseConfig): ResponseConfig {
  return {
    ...response,
    headers: {
      'Retry-After': {
        description: 'Seconds to wait before retrying',
        schema: { type: 'integer', minimum: 1 },
      },
    },
  };
}

/**
 * Registers a route in the OpenAPI document together with what the shared middleware adds to
 * it: its bearer scheme and the error responses of the path, query, token, body and Redis
 * checks. A response that the route describes itself is kept.
 */
export function registerDocumentedRoute(app: ApiApp, route: RouteConfig): void {
  app.openAPIRegistry.registerPath(withSharedChecks(route));
}

function withSharedChecks(route: RouteConfig): RouteConfig {
  if (PUBLIC_PATHS.has(route.path)) return route;

  const isCallback = isJobCallback(route.method, route.path);
  const shared: Record<string, ResponseConfig> = {
    400: responseJson(
      'Invalid path, query or body; the message names the field and the rule',
      errorResponseSchema,
    ),
    401: responseJson(
      isCallback
        ? 'The job token is missing or not the current lock'
        : 'Missing or invalid API token',
      errorResponseSchema,
    ),
    503: withRetryAfter(
      responseJson(
        'Redis is unavailable or out of memory; retry after the Retry-After header (seconds)',
        errorResponseSchema,
      ),
    ),
  };
  if (route.request?.body) {
    shared[413] = responseJson('The body is larger than MAX_BODY_BYTES', errorResponseSchema);
    shared[415] = responseJson('The Content-Type is not JSON or plain text', errorResponseSchema);
  }

  const responses = { ...route.responses };
  for (const [status, response] of Object.entries(shared)) responses[status] ??= response;
  const scheme = isCallback ? JOB_TOKEN_SCHEME : API_TOKEN_SCHEME;
  // Each route with a body rejects a request without one. The log route reads an empty
  // text/plain body as an empty line.
  const request = route.request?.body
    ? { ...route.request, body: { required: true, ...route.request.body } }
    : route.request;
  return { ...route, request, security: [{ [scheme]: [] }], responses };
}
