/** One entry of a validation failure reported by the API: a dotted field path and the problem. */
export interface ApiIssue {
  readonly path: string;
  readonly message: string;
}

/** Base class of every error the Bullpen client raises. */
export class BullpenClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The API returned an error status. `code`, `message` and `issues` come from the API's
 * error body `{"error": {"code", "message", "issues", "requestId"}}`; for a body of another
 * shape, `code` is `http_<status>`.
 */
export class BullpenApiError extends BullpenClientError {
  readonly status: number;
  readonly code: string;
  readonly issues: readonly ApiIssue[];
  /** Request id of a 500 response, to find the request in the API's logs. */
  readonly requestId: string | undefined;
  readonly method: string;
  readonly path: string;

  constructor(fields: {
    status: number;
    code: string;
    message: string;
    issues?: readonly ApiIssue[];
    requestId?: string;
    method: string;
    path: string;
  }) {
    super(`${fields.method} ${fields.path} failed with HTTP ${fields.status}: ${fields.message}`);
    this.status = fields.status;
    this.code = fields.code;
    this.issues = fields.issues ?? [];
    this.requestId = fields.requestId;
    this.method = fields.method;
    this.path = fields.path;
  }
}

/** No response arrived: the connection failed or the request timed out. */
export class BullpenConnectionError extends BullpenClientError {
  readonly method: string;
  readonly url: string;

  constructor(fields: { method: string; url: string; detail: string; cause: unknown }) {
    super(
      `${fields.method} ${fields.url} failed: ${fields.detail}. Check that the API is running at that address.`,
      {
        cause: fields.cause,
      },
    );
    this.method = fields.method;
    this.url = fields.url;
  }
}

/** `waitForJob` gave up before the job finished. */
export class JobWaitTimeoutError extends BullpenClientError {
  readonly queue: string;
  readonly jobId: string;
  /** The job's state when the wait ended. */
  readonly lastState: string | undefined;

  constructor(queue: string, jobId: string, timeoutMs: number, lastState: string | undefined) {
    super(
      `Job "${jobId}" of queue "${queue}" did not finish within ${timeoutMs} ms ` +
        `(last state: ${lastState ?? 'unknown'}). Check that a worker is registered and a dispatcher is running.`,
    );
    this.queue = queue;
    this.jobId = jobId;
    this.lastState = lastState;
  }
}
