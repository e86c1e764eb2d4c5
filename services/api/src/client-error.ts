import type { Logger } from '@bullpen/core';
import { RequestError } from '@hono/node-server';
import {
  STATUS_CODES,
  type IncomingMessage,
  type RequestListener,
  type ServerResponse,
} from 'node:http';
import type { Duplex } from 'node:stream';

function errorFor(error: NodeJS.ErrnoException): { status: number; code: string; message: string } {
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return {
      status: 431,
      code: 'headers_too_large',
      message: 'The request headers are larger than the server accepts; send smaller headers.',
    };
  }
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      status: 408,
      code: 'request_timeout',
      message: 'The request did not arrive in time; send it again.',
    };
  }
  return {
    status: 400,
    code: 'bad_request',
    message: `The request is not valid HTTP/1.1 (${error.code ?? 'parse error'}).`,
  };
}

/**
 * Returns a `clientError` listener that responds with the API's JSON error to requests
 * Node's HTTP parser rejects before they reach the app. Without it, Node writes a bare 400
 * or 431 with no body, for example for headers over 16 KiB, a NUL byte in a header, a
 * space in the path or a Content-Length that is not a number.
 */
export function createClientErrorListener(logger: Logger) {
  return (error: NodeJS.ErrnoException, socket: Duplex): void => {
    // A reset socket, or one whose response has started, cannot take another response.
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }

    const { status, code, message } = errorFor(error);
    logger.debug({ parserError: error.code, status }, 'http parser rejected a request');
    endWithJsonError(socket, status, code, message);
  };
}

/** Returns the API's JSON error body. */
function jsonErrorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

/** Writes a whole HTTP/1.1 response with the API's JSON error to a raw socket and closes it. */
function endWithJsonError(socket: Duplex, status: number, code: string, message: string): void {
  const body = jsonErrorBody(code, message);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

/** Sends the API's JSON error on a Node.js response and closes the connection after it. */
function endResponseWithJsonError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
): void {
  const body = jsonErrorBody(code, message);
  response.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
  });
  response.end(body);
}

function jsonError(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}

/**
 * Returns the error handler of @hono/node-server's request listener. It runs when the
 * listener cannot build a Request, for example without a Host header, with the target `*`
 * or with an invalid host. Without it, the listener responds with an empty 400.
 */
export function createRequestErrorHandler(logger: Logger) {
  return (error: unknown): Response => {
    if (error instanceof RequestError) {
      logger.debug({ err: error }, 'request could not be read');
      return jsonError(
        400,
        'bad_request',
        `The request is not valid: ${error.message}. Send an origin-form path and a Host header.`,
      );
    }
    logger.error({ err: error }, 'request failed before the app ran');
    return jsonError(500, 'internal_error', 'The server failed to handle the request.');
  };
}

/**
 * Responds with a JSON 405 to a CONNECT request. Node.js hands CONNECT to a `connect`
 * listener instead of the request listener, and without one it closes the socket silently.
 */
export function rejectConnect(_request: IncomingMessage, socket: Duplex): void {
  endWithJsonError(
    socket,
    405,
    'method_not_allowed',
    'Method CONNECT is not allowed because the API is not a proxy.',
  );
}

/** Counts the Host field lines of a request. Node.js keeps only the first in `headers`. */
function countHostLines(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') count += 1;
  }
  return count;
}

/** The listeners of the API's Node.js server for requests, `checkContinue` and `checkExpectation`. */
export interface ServerRequestListeners {
  readonly request: RequestListener;
  readonly checkContinue: RequestListener;
  readonly checkExpectation: RequestListener;
}

/**
 * Wraps the app's request listener in the three listeners through which Node.js hands over
 * requests. Each one first rejects a request with two or more Host field lines with a JSON
 * 400, as RFC 9112 section 3.2 requires, because Node.js would pass it on with the first
 * value. So a client whose request is rejected gets no 100 Continue and sends no body.
 * `checkExpectation` then responds with a JSON 417 to an `Expect` header other than
 * `100-continue`, where Node.js would send an empty one.
 */
export function createRequestListeners(
  listener: RequestListener,
  logger: Logger,
): ServerRequestListeners {
  /** Responds with a 400 and returns true when the request has more than one Host line. */
  const rejectIfRepeatedHost = (request: IncomingMessage, response: ServerResponse): boolean => {
    const hostLines = countHostLines(request.rawHeaders);
    if (hostLines <= 1) return false;
    logger.debug({ hostLines, status: 400 }, 'rejected a request with repeated Host headers');
    endResponseWithJsonError(
      response,
      400,
      'bad_request',
      'The request has more than one Host header; send exactly one.',
    );
    return true;
  };

  return {
    request: (request, response) => {
      if (rejectIfRepeatedHost(request, response)) return;
      listener(request, response);
    },
    checkContinue: (request, response) => {
      if (rejectIfRepeatedHost(request, response)) return;
      response.writeContinue();
      listener(request, response);
    },
    checkExpectation: (request, response) => {
      if (rejectIfRepeatedHost(request, response)) return;
      endResponseWithJsonError(
        response,
        417,
        'expectation_failed',
        `Unsupported Expect header "${String(request.headers.expect).slice(0, 100)}"; send only "Expect: 100-continue" or none.`,
      );
    },
  };
}
