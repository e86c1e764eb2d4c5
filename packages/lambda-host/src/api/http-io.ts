import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RequestBody {
  /** The body, or its first `limitBytes` bytes when it is larger. */
  readonly bytes: Buffer;
  readonly sizeBytes: number;
  readonly tooLarge: boolean;
}

/**
 * Reads a request body, keeping at most `limitBytes`. A larger body is still read to its end
 * so the client receives the error response instead of a reset connection while it sends.
 */
export function readRequestBody(
  request: IncomingMessage,
  limitBytes: number,
): Promise<RequestBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let sizeBytes = 0;
    request.on('data', (chunk: Buffer) => {
      sizeBytes += chunk.length;
      if (sizeBytes <= limitBytes) chunks.push(chunk);
    });
    request.on('end', () => {
      const tooLarge = sizeBytes > limitBytes;
      resolve({ bytes: tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks), sizeBytes, tooLarge });
    });
    request.on('error', reject);
    request.on('close', () => {
      if (!request.complete)
        reject(new Error('The client closed the request before sending all of its body'));
    });
  });
}

export function sendBody(
  response: ServerResponse,
  status: number,
  headers: Readonly<Record<string, string | string[]>>,
  body?: Buffer | string,
): void {
  const bytes = body === undefined ? undefined : Buffer.from(body);
  response.statusCode = status;
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
  if (bytes !== undefined) response.setHeader('Content-Length', bytes.length);
  response.end(bytes);
}

export function sendJson(
  response: ServerResponse,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: unknown,
): void {
  sendBody(
    response,
    status,
    { 'Content-Type': 'application/json', ...headers },
    JSON.stringify(body),
  );
}
