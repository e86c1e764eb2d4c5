import type { Logger } from '@bullpen/core';
import { STATUS_CODES } from 'node:http';
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
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Content-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  };
}
