import type { Readable } from 'node:stream';

/**
 * The body as read up to a cap. When `overCap` is true the body was longer than the cap
 * and `bytes` contains its first `maxBytes` bytes.
 */
export interface CappedBody {
  readonly bytes: Buffer;
  readonly overCap: boolean;
}

/** The body stream ended before its last byte. */
export class TruncatedBodyError extends Error {
  constructor(bytesRead: number) {
    super(`the connection closed after ${bytesRead} bytes of the body`);
    this.name = 'TruncatedBodyError';
  }
}

/**
 * Reads a response body, stopping as soon as more than `maxBytes` have arrived. The stream
 * is then destroyed, so an endpoint cannot make the dispatcher buffer an unbounded answer.
 *
 * Reads with `data` events rather than an async iterator, which costs more per response.
 * The listeners are inline arrow functions: under tsx, esbuild's keepNames wraps every
 * named function expression in a defineProperty call, which showed up in dispatch profiles.
 * They are never removed, because the stream is finished or destroyed once the promise
 * settles.
 */
export function readCappedBody(body: Readable, maxBytes: number): Promise<CappedBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    // 'close' follows 'end' on every body; the flag keeps it from building an error, with
    // its stack trace, for a body that was read in full.
    let settled = false;

    body.on('data', (chunk: Buffer) => {
      if (settled) return;
      if (length + chunk.length > maxBytes) {
        settled = true;
        chunks.push(chunk.subarray(0, maxBytes - length));
        discardBody(body);
        resolve({ bytes: Buffer.concat(chunks), overCap: true });
        return;
      }
      length += chunk.length;
      chunks.push(chunk);
    });
    body.once('end', () => {
      settled = true;
      resolve({ bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), overCap: false });
    });
    body.once('error', (error: Error) => {
      settled = true;
      reject(error);
    });
    body.once('close', () => {
      if (!settled) reject(new TruncatedBodyError(length));
    });
  });
}

/** Reads the first `maxBytes` of a body as text and drops the rest with the stream. */
export async function readBodyPrefix(body: Readable, maxBytes: number): Promise<string> {
  const { bytes, overCap } = await readCappedBody(body, maxBytes);
  const text = bytes.toString('utf8');
  return overCap ? `${text}...` : text;
}

/**
 * Destroys a body that will not be read. undici emits an abort error on a body destroyed
 * before its end, and without a listener that error would crash the process.
 */
export function discardBody(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}
