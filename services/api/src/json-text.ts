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

/**
 * Rejects JSON that JSON.parse accepts but the API cannot store faithfully. `text` must be
 * text that JSON.parse has already accepted, so the scan only tracks strings and nesting.
 */
export function checkJsonText(text: string): void {
  let depth = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === QUOTE) {
      index = endOfString(text, index);
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      depth += 1;
      if (depth > MAX_JSON_DEPTH) {
        throw invalidBody(
          `arrays and objects are nested more than ${MAX_JSON_DEPTH} levels deep; flatten the value.`,
          `must not nest arrays and objects more than ${MAX_JSON_DEPTH} levels deep`,
        );
      }
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth -= 1;
    }
  }
}
