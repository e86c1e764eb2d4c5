import { UNRECOVERABLE_ERROR_TYPE } from '@bullpen/core/protocol';

/** Base class of every error the handler SDK raises. */
export class BullpenHandlerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Fails the job without its remaining attempts. The dispatcher recognises it by the error's
 * `name`, which Lambda reports as the `errorType`, so subclasses keep the name
 * `UnrecoverableError` and are distinguished with `instanceof`.
 */
export class UnrecoverableError extends BullpenHandlerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = UNRECOVERABLE_ERROR_TYPE;
  }
}

/** One entry of a validation failure: the dotted field path and what is wrong with it. */
export interface DataIssue {
  readonly path: string;
  readonly message: string;
}

/** The job's `data` does not match the handler's `dataSchema`; retrying cannot fix that. */
export class InvalidJobDataError extends UnrecoverableError {
  readonly jobId: string;
  readonly issues: readonly DataIssue[];

  constructor(jobId: string, issues: readonly DataIssue[]) {
    const summary = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
    super(`Invalid data in job ${jobId}: ${summary}. Add the job again with valid data.`);
    this.jobId = jobId;
    this.issues = issues;
  }
}

/**
 * The event is neither a dispatch request nor a Function URL request carrying one, so the
 * function was not invoked by a Bullpen dispatcher.
 */
export class InvalidDispatchEventError extends UnrecoverableError {
  constructor(reason: string) {
    super(
      `Invalid dispatch event: ${reason}. The function expects {job, token, queue, callbackUrl}, ` +
        'sent by the Bullpen dispatcher directly or as the body of a Function URL request.',
    );
  }
}

/** Job callback route: `progress` or `logs`. */
export type CallbackKind = 'progress' | 'logs';

/**
 * A progress or log call to the Bullpen API failed. The job itself carries on unless the
 * handler lets this error escape.
 */
export class CallbackError extends BullpenHandlerError {
  readonly kind: CallbackKind;
  readonly queue: string;
  readonly jobId: string;
  /** HTTP status of the API's response, or undefined when no response arrived. */
  readonly status: number | undefined;
  /** The API's error code (for example `unauthorized`), when its response carried one. */
  readonly code: string | undefined;

  constructor(fields: {
    kind: CallbackKind;
    queue: string;
    jobId: string;
    status?: number;
    code?: string;
    detail: string;
    cause?: unknown;
  }) {
    super(
      `Sending ${fields.kind} for job ${fields.jobId} of queue "${fields.queue}" failed: ` +
        `${fields.detail}. ${adviceFor(fields.status)}`,
      fields.cause === undefined ? undefined : { cause: fields.cause },
    );
    this.kind = fields.kind;
    this.queue = fields.queue;
    this.jobId = fields.jobId;
    this.status = fields.status;
    this.code = fields.code;
  }
}

function adviceFor(status: number | undefined): string {
  if (status === undefined) {
    return 'Check that the callbackUrl the dispatcher sends (PUBLIC_API_URL) is reachable from the function.';
  }
  if (status === 401) {
    return 'The job token is only valid while this attempt holds the job lock; send callbacks before returning.';
  }
  if (status === 404) return 'The job no longer exists.';
  return 'See the API logs for the request.';
}
