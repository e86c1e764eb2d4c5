import util from 'node:util';
import type { ErrorPayload } from './messages';

interface ErrorLike {
  name: string;
  message: string;
  stack?: string;
}

function isErrorLike(value: unknown): value is ErrorLike {
  if (util.types.isNativeError(value)) return true;
  const candidate = value as Partial<ErrorLike> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.name === 'string' &&
    typeof candidate.message === 'string'
  );
}

/**
 * Converts what a handler threw or rejected with into the error document of Lambda's Node.js
 * runtime: an Error gives its `name`, `message` and stack lines; any other value gives its
 * `typeof` and its string form, as aws-lambda-nodejs-runtime-interface-client does.
 */
export function toErrorPayload(error: unknown): ErrorPayload {
  if (isErrorLike(error)) {
    return {
      errorType: error.name,
      errorMessage: error.message,
      trace: typeof error.stack === 'string' ? error.stack.split('\n') : [],
    };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}
