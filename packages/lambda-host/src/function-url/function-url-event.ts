import type { IncomingMessage } from 'node:http';

/** Request event of a Lambda Function URL: API Gateway payload format version 2.0. */
export interface FunctionUrlEvent {
  version: '2.0';
  routeKey: '$default';
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  requestContext: {
    accountId: string;
    apiId: string;
    domainName: string;
    domainPrefix: string;
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    requestId: string;
    routeKey: '$default';
    stage: '$default';
    time: string;
    timeEpoch: number;
  };
  body?: string;
  isBase64Encoded: boolean;
}

export interface FunctionUrlRequestContext {
  readonly requestId: string;
  /** The url-id part of the Function URL's host name. */
  readonly urlId: string;
  readonly receivedAt: Date;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * Builds the event a Function URL passes to its function. Header names are lower-cased and
 * repeated headers and query parameters are joined with commas, as in payload format 2.0.
 */
export function buildFunctionUrlEvent(
  request: IncomingMessage,
  body: Buffer,
  context: FunctionUrlRequestContext,
): FunctionUrlEvent {
  const target = request.url ?? '/';
  const queryStart = target.indexOf('?');
  const rawPath = queryStart === -1 ? target : target.slice(0, queryStart);
  const rawQueryString = queryStart === -1 ? '' : target.slice(queryStart + 1);
  const headers = eventHeaders(request);
  const cookies = parseCookies(request.headers.cookie);
  const queryStringParameters = parseQueryString(rawQueryString);
  const encodeBody = !isTextContentType(headers['content-type']);

  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(queryStringParameters === undefined ? {} : { queryStringParameters }),
    requestContext: {
      // Function URLs with auth type NONE report the caller's account as `anonymous`.
      accountId: 'anonymous',
      apiId: context.urlId,
      domainName: headers.host ?? '',
      domainPrefix: context.urlId,
      http: {
        method: request.method ?? 'GET',
        path: rawPath,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: context.requestId,
      routeKey: '$default',
      stage: '$default',
      time: formatRequestTime(context.receivedAt),
      timeEpoch: context.receivedAt.getTime(),
    },
    ...(body.length > 0 ? { body: body.toString(encodeBody ? 'base64' : 'utf8') } : {}),
    isBase64Encoded: body.length > 0 && encodeBody,
  };
}

/**
 * Collects the lower-cased headers, joining repeats with commas, and adds the forwarding
 * headers a Function URL adds. NOTE: the Cookie header moves to `cookies` as in API Gateway's
 * format 2.0. The Function URL documentation does not say whether it also stays in `headers`.
 */
function eventHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(request.headersDistinct)) {
    if (name === 'cookie' || values === undefined) continue;
    headers[name] = values.join(',');
  }
  headers['x-forwarded-for'] = request.socket.remoteAddress ?? '';
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-port'] = String(request.socket.localPort ?? '');
  return headers;
}

function parseCookies(header: string | undefined): string[] {
  if (header === undefined) return [];
  return header
    .split(';')
    .map((cookie) => cookie.trim())
    .filter((cookie) => cookie.length > 0);
}

function parseQueryString(rawQueryString: string): Record<string, string> | undefined {
  if (rawQueryString === '') return undefined;
  const parameters: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    parameters[name] = name in parameters ? `${parameters[name]},${value}` : value;
  }
  return parameters;
}

/**
 * Whether a body of this content type reaches the function as text. NOTE: the Function URL
 * documentation only says binary bodies are base64-encoded; this list of text types is this
 * host's choice.
 */
function isTextContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return (
    mediaType.startsWith('text/') ||
    /[/+](json|xml)$/.test(mediaType) ||
    mediaType === 'application/javascript' ||
    mediaType === 'application/x-www-form-urlencoded'
  );
}

/** Formats a time as format 2.0's `requestContext.time`: `12/Mar/2020:19:03:58 +0000`. */
function formatRequestTime(date: Date): string {
  const pad = (value: number): string => String(value).padStart(2, '0');
  const day = pad(date.getUTCDate());
  const month = MONTHS[date.getUTCMonth()] ?? '';
  const time = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  return `${day}/${month}/${date.getUTCFullYear()}:${time} +0000`;
}
