import { request, type Dispatcher } from 'undici';
import { CallbackError, type CallbackKind } from './errors';

export interface CallbackSettings {
  /** API base URL from the dispatch request; may carry a path prefix. */
  readonly callbackUrl: string;
  readonly queue: string;
  readonly jobId: string;
  /** The job token; sent as the bearer token and never logged. */
  readonly token: string;
  readonly timeoutMs: number;
  readonly dispatcher: Dispatcher | undefined;
  readonly onError: ((error: CallbackError) => void) | undefined;
}

/**
 * Sends progress and log callbacks for one job attempt. Calls go out one at a time in the
 * order the handler made them, so log lines keep their order even when the handler does not
 * await each call. `settle()` waits for every call made so far.
 */
export class CallbackSender {
  private readonly settings: CallbackSettings;
  private tail: Promise<void> = Promise.resolve();

  constructor(settings: CallbackSettings) {
    this.settings = settings;
  }

  send(kind: CallbackKind, body: unknown): Promise<void> {
    const call = this.tail.then(() => this.post(kind, body));
    // The handler attached here marks `call` as handled, so a job handler that ignores the
    // promise cannot end the process with an unhandled rejection, while one that awaits it
    // still receives the error.
    this.tail = call.catch((error: CallbackError) => this.report(error));
    return call;
  }

  /** Resolves once every call made so far has finished, successfully or not. */
  settle(): Promise<void> {
    return this.tail;
  }

  private report(error: CallbackError): void {
    try {
      this.settings.onError?.(error);
    } catch {
      // A failing listener must not turn a reported callback failure into a crash.
    }
  }

  private async post(kind: CallbackKind, body: unknown): Promise<void> {
    const { queue, jobId } = this.settings;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(this.routeUrl(kind), {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.settings.token}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.settings.timeoutMs),
        ...(this.settings.dispatcher ? { dispatcher: this.settings.dispatcher } : {}),
      });
    } catch (cause) {
      throw new CallbackError({
        kind,
        queue,
        jobId,
        detail: describeCause(cause, this.settings.timeoutMs),
        cause,
      });
    }

    const text = await response.body.text();
    if (response.statusCode >= 200 && response.statusCode < 300) return;

    const apiError = readApiError(text);
    throw new CallbackError({
      kind,
      queue,
      jobId,
      status: response.statusCode,
      code: apiError?.code,
      detail: `the API returned HTTP ${response.statusCode}${apiError ? ` (${apiError.message})` : ''}`,
    });
  }

  private routeUrl(kind: CallbackKind): string {
    const base = this.settings.callbackUrl.replace(/\/+$/, '');
    const queue = encodeURIComponent(this.settings.queue);
    const jobId = encodeURIComponent(this.settings.jobId);
    return `${base}/queues/${queue}/jobs/${jobId}/${kind}`;
  }
}

function describeCause(cause: unknown, timeoutMs: number): string {
  // undici rejects with the signal's reason, a DOMException, which is not an instance of this
  // realm's Error under test runners that use vm contexts, so only its fields are read.
  const { name, code, message } = (cause ?? {}) as {
    name?: unknown;
    code?: unknown;
    message?: unknown;
  };
  if (name === 'TimeoutError' || name === 'AbortError') {
    return `no response within ${timeoutMs} ms (callbackTimeoutMs)`;
  }
  const text = typeof message === 'string' ? message : String(cause);
  return typeof code === 'string' ? `${code}: ${text}` : text;
}

/** Reads `{"error": {"code", "message"}}`, the API's error body, when the body is one. */
function readApiError(text: string): { code: string; message: string } | undefined {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const code = parsed.error?.code;
    const message = parsed.error?.message;
    if (typeof code === 'string' && typeof message === 'string') return { code, message };
  } catch {
    // Not JSON: the status alone describes the failure.
  }
  return undefined;
}
