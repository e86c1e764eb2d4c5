/** A worker registration call to the Bullpen API failed; CloudFormation shows the message. */
export class WorkerRegistrationError extends Error {
  readonly queue: string;
  /** HTTP status the API returned; undefined when no response arrived. */
  readonly status: number | undefined;

  constructor(message: string, details: { queue: string; status?: number; cause?: unknown }) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'WorkerRegistrationError';
    this.queue = details.queue;
    this.status = details.status;
  }
}
