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
  const header = c.req.header('content-type') ?? '';
  if (mediaType === '' && header.trim() !== '') {
    throw new UnsupportedMediaTypeError(
      `Invalid Content-Type "${header.slice(0, 100)}": it names no media type; send application/json.`,
    );
  }
  if (!JSON_COMPATIBLE_MEDIA_TYPES.has(mediaType) && !mediaType.endsWith('+json')) {
    throw new UnsupportedMediaTypeError(
      `Unsupported Content-Type "${mediaType.slice(0, 100)}"; send application/json.`,
    );
  }

  const text = await readBodyText(c);
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

/**
 * Reads the request body as UTF-8 text, failing with 415 when the Content-Type names another
 * charset and with 400 on invalid UTF-8. Decoding it leniently would replace bad bytes with
 * U+FFFD and store a string the client never sent. One leading byte order mark is dropped,
 * which RFC 8259 allows a JSON parser to do.
 */
export async function readBodyText(c: Context): Promise<string> {
  const charset = charsetOf(c);
  if (charset !== undefined && !UTF8_COMPATIBLE_CHARSETS.has(charset)) {
    throw new UnsupportedMediaTypeError(
      `Unsupported charset "${charset.slice(0, 40)}" in Content-Type; send UTF-8 (charset=utf-8 or no charset).`,
    );
  }
  const bytes = await c.req.arrayBuffer();
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ValidationError(
      'Invalid request body: the body is not valid UTF-8; send UTF-8 encoded text.',
      [{ path: '(body)', message: 'must be valid UTF-8' }],
    );
  }
}

/** Charsets whose bytes read the same as UTF-8, the only encoding the API decodes. */
const UTF8_COMPATIBLE_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);

/** Returns the `charset` parameter of the Content-Type, lower-cased and unquoted, if any. */
function charsetOf(c: Context): string | undefined {
  const parameters = c.req.header('content-type')?.split(';').slice(1) ?? [];
  for (const parameter of parameters) {
    const [name = '', ...value] = parameter.split('=');
    if (name.trim().toLowerCase() !== 'charset') continue;
    return value
      .join('=')
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
  }
  return undefined;
}

/** Media type of the request without parameters, lower-cased. */
export function mediaTypeOf(c: Context): string {
  return c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase() ?? '';
}
