import { ValidationError } from '@bullpen/core';

/**
 * Deepest nesting of arrays and objects a request body may have. JSON.parse accepts any
 * depth, but JSON.stringify recurses, and BullMQ, the dispatcher and the handler SDK all
 * stringify job data and progress. On Node.js 20's default stack, job data 5,000 levels
 * deep overflowed it inside BullMQ's `Queue.add`, while 2,000 levels did not.
 */
export const MAX_JSON_DEPTH = 256;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DIGIT_ZERO = 0x30;
const DIGIT_NINE = 0x39;
const NUMBER_CHARACTERS = '0123456789+-.eE';

/** Index of the quote that closes the string opening at `start`. */
function endOfString(text: string, start: number): number {
  let index = start + 1;
  for (;;) {
    const quote = text.indexOf('"', index);
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return quote;
    index = quote + 1;
  }
}

function invalidBody(message: string, issue: string): ValidationError {
  return new ValidationError(`Invalid request body: ${message}`, [
    { path: '(body)', message: issue },
  ]);
}

function preview(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}

/**
 * Rejects a key seen before in the same object. JSON.parse keeps the last value, other
 * parsers keep the first or fail (RFC 8259 leaves it open), so a body with a repeated key
 * can mean one thing to the client and another to the API. I-JSON (RFC 7493) forbids it.
 */
function addKey(keys: Set<string>, text: string, start: number, end: number): void {
  const raw = text.slice(start + 1, end);
  const key = raw.includes('\\') ? (JSON.parse(text.slice(start, end + 1)) as string) : raw;
  if (keys.has(key)) {
    throw invalidBody(
      `the key ${JSON.stringify(preview(key))} appears more than once in one object; send each key once.`,
      'must not repeat a key within one object',
    );
  }
  keys.add(key);
}

/**
 * Returns the index of the last character of the number starting at `start`. JSON.parse
 * turns a number beyond the double-precision range, such as 1e999, into Infinity, which
 * JSON.stringify then stores as null, so such a number is rejected.
 */
function checkNumber(text: string, start: number): number {
  let end = start;
  while (end < text.length && NUMBER_CHARACTERS.includes(text[end] as string)) end += 1;
  const token = text.slice(start, end);
  if (/[eE]/.test(token) || token.length > 300) {
    if (!Number.isFinite(Number(token))) {
      throw invalidBody(
        `the number ${preview(token)} is outside the double-precision range; send a smaller number or a string.`,
        'must contain only numbers within the double-precision range',
      );
    }
  }
  return end - 1;
}

/**
 * Rejects JSON that JSON.parse accepts but the API cannot store faithfully: nesting past
 * MAX_JSON_DEPTH, a key repeated in one object, and numbers beyond the double-precision
 * range. `text` must be text that JSON.parse has already accepted.
 */
export function checkJsonText(text: string): void {
  // One entry per open container: the keys seen so far in an object, undefined for an array.
  const containers: Array<Set<string> | undefined> = [];
  let expectingKey = false;

  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === QUOTE) {
      const end = endOfString(text, index);
      if (expectingKey) addKey(containers.at(-1) as Set<string>, text, index, end);
      expectingKey = false;
      index = end;
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      containers.push(code === OPEN_BRACE ? new Set() : undefined);
      expectingKey = code === OPEN_BRACE;
      if (containers.length > MAX_JSON_DEPTH) {
        throw invalidBody(
          `arrays and objects are nested more than ${MAX_JSON_DEPTH} levels deep; flatten the value.`,
          `must not nest arrays and objects more than ${MAX_JSON_DEPTH} levels deep`,
        );
      }
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      containers.pop();
      expectingKey = false;
    } else if (code === COMMA) {
      expectingKey = containers.at(-1) !== undefined;
    } else if (code === MINUS || (code >= DIGIT_ZERO && code <= DIGIT_NINE)) {
      index = checkNumber(text, index);
    }
  }
}
