/** One entry of a validation failure: the dotted field path and what is wrong with it. */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * Base class of every error Bullpen raises on purpose. `status` is the HTTP status the API
 * answers with and `code` a stable, machine-readable name.
 */
export class BullpenError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(message: string, options: { status: number; code: string; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = options.status;
    this.code = options.code;
  }
}

export class ValidationError extends BullpenError {
  readonly issues: readonly ValidationIssue[];

  constructor(message: string, issues: readonly ValidationIssue[] = []) {
    super(message, { status: 400, code: 'validation_failed' });
    this.issues = issues;
  }
}

export class UnauthorizedError extends BullpenError {
  constructor(message: string) {
    super(message, { status: 401, code: 'unauthorized' });
  }
}

export class NotFoundError extends BullpenError {
  constructor(message: string) {
    super(message, { status: 404, code: 'not_found' });
  }
}

/** A path that exists, requested with a method none of its routes takes. */
export class MethodNotAllowedError extends BullpenError {
  /** Methods the path takes, for the `Allow` header. */
  readonly allowedMethods: readonly string[];

  constructor(method: string, allowedMethods: readonly string[]) {
    super(`Method ${method} is not allowed on this path; use ${allowedMethods.join(', ')}.`, {
      status: 405,
      code: 'method_not_allowed',
    });
    this.allowedMethods = allowedMethods;
  }
}

export class PayloadTooLargeError extends BullpenError {
  constructor(message: string) {
    super(message, { status: 413, code: 'payload_too_large' });
  }
}

export class UnsupportedMediaTypeError extends BullpenError {
  constructor(message: string) {
    super(message, { status: 415, code: 'unsupported_media_type' });
  }
}

/** Redis did not respond in time or the connection is down; callers may retry later. */
export class RedisUnavailableError extends BullpenError {
  /** Value of the Retry-After header. */
  readonly retryAfterSeconds = 1;

  constructor(message = 'Redis is unavailable; try again shortly.', cause?: unknown) {
    super(message, { status: 503, code: 'redis_unavailable', cause });
  }
}

/**
 * Redis rejected a write, or a command inside MULTI, because its memory use reached
 * `maxmemory` and its eviction policy frees nothing (`noeviction`, or no key fits a
 * `volatile-*` policy). Redis still runs other reads.
 */
export class RedisOutOfMemoryError extends BullpenError {
  /**
   * Value of the Retry-After header. Memory frees up only when jobs are removed or an
   * operator raises `maxmemory`, so a retry within a second or two would most likely fail
   * again. NOTE: 30 s is a chosen hint, not a measured recovery time.
   */
  readonly retryAfterSeconds = 30;

  constructor(
    message = 'Redis is out of memory (maxmemory reached) and rejected the write. Try again later. ' +
      'A request that adds several jobs may have added some of them before the rejection, so ' +
      'give every job an opts.jobId, and a retry returns the jobs already added with ' +
      '"duplicate": true instead of adding them twice.',
    cause?: unknown,
  ) {
    super(message, { status: 503, code: 'redis_out_of_memory', cause });
  }
}

/** An environment variable is missing or invalid; the process cannot start. */
export class ConfigError extends BullpenError {
  readonly variable: string;

  constructor(variable: string, message: string) {
    super(`Invalid configuration: ${variable} ${message}`, { status: 500, code: 'invalid_config' });
    this.variable = variable;
  }
}
