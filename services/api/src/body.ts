import { UnsupportedMediaTypeError, ValidationError } from '@bullpen/core';
import type { Context } from 'hono';
import { checkJsonText } from './json-text';

/**
 * Media types whose body is read as JSON. BullMQ Proxy parsed every body as JSON whatever
 * its Content-Type, and `curl -d` sends application/x-www-form-urlencoded, so both kinds of
 * client keep working. A body declared as anything else (multipart, XML, ...) gets 415.
 */
const JSON_COMPATIBLE_MEDIA_TYPES = new Set([
  '',
  'application/json',
  'text/plain',
  'application/x-www-form-urlencoded',
]);

/** Reads the request body as JSON, failing with 400 on an empty or malformed body. */
export async function readJsonBody(c: Context): Promise<unknown> {
  const mediaType = mediaTypeOf(c);
  if (!JSON_COMPATIBLE_MEDIA_TYPES.has(mediaType) && !mediaType.endsWith('+json')) {
    throw new UnsupportedMediaTypeError(
      `Unsupported Content-Type "${mediaType.slice(0, 100)}"; send application/json.`,
    );
  }

  const text = await c.req.text();
  if (text.trim() === '') {
    throw new ValidationError('Invalid request body: the body is empty; send a JSON value.', [
      { path: '(body)', message: 'must not be empty' },
    ]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(
      `Invalid request body: malformed JSON (${(error as Error).message.slice(0, 200)}).`,
      [{ path: '(body)', message: 'must be valid JSON' }],
    );
  }
  checkJsonText(text);
  return value;
}

/** Media type of the request without parameters, lower-cased. */
export function mediaTypeOf(c: Context): string {
  return c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase() ?? '';
}
