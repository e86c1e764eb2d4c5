/**
 * Messages between the host and the worker thread of one execution environment. Both sides
 * import these types; the worker's copy runs under tsx, the host's under the caller's loader.
 */

/** Fixed settings of one execution environment, passed as the worker's `workerData`. */
export interface EnvironmentSettings {
  /** `file:` URL of the handler module. */
  readonly handlerModuleUrl: string;
  readonly handlerExport: string;
  /** Lambda's `Handler` setting, for error messages. */
  readonly handlerName: string;
  readonly functionName: string;
  readonly memorySizeMb: number;
  readonly logGroupName: string;
  readonly logStreamName: string;
}

/**
 * The error document of a failed invocation. Errors a handler throws carry their stack lines
 * in `trace`; errors Lambda itself reports (timeouts, crashes) have no `trace`.
 */
export interface ErrorPayload {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace?: readonly string[];
}

export interface InvokeMessage {
  readonly kind: 'invoke';
  readonly requestId: string;
  /** The event as JSON text, parsed in the worker so large events cross the thread once. */
  readonly eventJson: string;
  /** Epoch milliseconds at which the invocation times out. */
  readonly deadlineMs: number;
  readonly invokedFunctionArn: string;
  readonly functionVersion: string;
  /** Decoded `X-Amz-Client-Context`, if the caller sent one. */
  readonly clientContext: unknown;
}

export type HostMessage = InvokeMessage;

export type EnvironmentMessage =
  /** The handler module loaded; the environment takes invocations. */
  | { readonly kind: 'ready' }
  /** The handler module failed to load or does not export the handler. */
  | { readonly kind: 'init-error'; readonly error: ErrorPayload }
  /** Console or standard output text, already formatted as Lambda log lines. */
  | { readonly kind: 'log'; readonly text: string }
  | { readonly kind: 'result'; readonly requestId: string; readonly payloadJson: string }
  | { readonly kind: 'error'; readonly requestId: string; readonly error: ErrorPayload };
