/** Base class of every error the local Lambda host raises to its caller. */
export class LambdaHostError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A function definition passed to `startLambdaHost` breaks a rule; the host does not start. */
export class InvalidFunctionDefinitionError extends LambdaHostError {
  /** Name of the offending function, as given. */
  readonly functionName: string;
  /** Definition field that breaks the rule, for example `timeoutMs`. */
  readonly field: string;

  constructor(functionName: string, field: string, message: string) {
    super(`Invalid local Lambda function "${functionName}": ${field} ${message}`);
    this.functionName = functionName;
    this.field = field;
  }
}

/** A host method was called with a function name the host does not serve. */
export class UnknownFunctionError extends LambdaHostError {
  readonly functionName: string;

  constructor(functionName: string, detail: string) {
    super(`Local Lambda function "${functionName}" ${detail}`);
    this.functionName = functionName;
  }
}
