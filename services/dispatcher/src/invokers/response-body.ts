import type { Readable } from 'node:stream';

/**
 * The body as read up to a cap. When `overCap` is true the body was longer than the cap
 * and `bytes` holds its first `maxBytes` bytes.
 */
export interface CappedBody {
  readonly bytes: Buffer;
  readonly overCap: boolean;
}

/**
 * Reads a response body, stopping as soon as more than `maxBytes` have arrived. The stream
 * is then destroyed, so an endpoint cannot make the dispatcher buffer an unbounded answer.
 */
export async function readCappedBody(body: Readable, maxBytes: number): Promise<CappedBody> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (length + chunk.length > maxBytes) {
      chunks.push(chunk.subarray(0, maxBytes - length));
      discardBody(body);
      return { bytes: Buffer.concat(chunks), overCap: true };
    }
    length += chunk.length;
    chunks.push(chunk);
  }
  return { bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), overCap: false };
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
