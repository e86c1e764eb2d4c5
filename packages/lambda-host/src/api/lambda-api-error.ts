import { LambdaHostError } from '../errors';

/**
 * An error the Lambda REST API returns in place of a result. The SDK picks the exception class
 * from the `x-amzn-ErrorType` header and fills its fields from the JSON body, so `errorType`,
 * the body field names and `status` follow the Lambda API model.
 */
export class LambdaApiError extends LambdaHostError {
  readonly status: number;
  readonly errorType: string;
  /** `User` for caller errors, `Service` for faults of the service. */
  readonly faultType: 'User' | 'Service';
  /**
   * Body field of the message. The Lambda API model names it `Message` for some exceptions
   * (ResourceNotFoundException, ServiceException) and `message` for the rest.
   */
  readonly messageField: 'message' | 'Message';
  readonly extraBody: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(options: {
    status: number;
    errorType: string;
    message: string;
    faultType?: 'User' | 'Service';
    messageField?: 'message' | 'Message';
    extraBody?: Record<string, string>;
    headers?: Record<string, string>;
  }) {
    super(options.message);
    this.status = options.status;
    this.errorType = options.errorType;
    this.faultType = options.faultType ?? 'User';
    this.messageField = options.messageField ?? 'message';
    this.extraBody = options.extraBody ?? {};
    this.headers = options.headers ?? {};
  }

  /** Builds the JSON body Lambda sends with this error. */
  toBody(): Record<string, string> {
    return { Type: this.faultType, [this.messageField]: this.message, ...this.extraBody };
  }
}

export function resourceNotFound(arn: string): LambdaApiError {
  return new LambdaApiError({
    status: 404,
    errorType: 'ResourceNotFoundException',
    message: `Function not found: ${arn}`,
    messageField: 'Message',
  });
}

export function requestTooLarge(limitBytes: number): LambdaApiError {
  // NOTE: unconfirmed message text, because the API reference gives none.
  return new LambdaApiError({
    status: 413,
    errorType: 'RequestTooLargeException',
    message: `Request must be smaller than ${limitBytes} bytes for the InvokeFunction operation`,
  });
}

export function invalidRequestContent(detail: string): LambdaApiError {
  return new LambdaApiError({
    status: 400,
    errorType: 'InvalidRequestContentException',
    message: `Could not parse request body into json: ${detail}`,
  });
}

export function invalidParameterValue(message: string): LambdaApiError {
  return new LambdaApiError({ status: 400, errorType: 'InvalidParameterValueException', message });
}

export function validationFailed(message: string): LambdaApiError {
  return new LambdaApiError({ status: 400, errorType: 'ValidationException', message });
}

/**
 * The reserved concurrency of a function is in use. The SDK exposes `Retry-After` as
 * `retryAfterSeconds` and `Reason` as `Reason`.
 */
export function reservedConcurrencyExceeded(retryAfterSeconds: number): LambdaApiError {
  return new LambdaApiError({
    status: 429,
    errorType: 'TooManyRequestsException',
    message: 'Rate Exceeded.',
    extraBody: { Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' },
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });
}

export function unknownOperation(method: string, pathname: string): LambdaApiError {
  return new LambdaApiError({
    status: 404,
    errorType: 'UnknownOperationException',
    message: `The local Lambda host does not serve ${method} ${pathname}`,
  });
}

export function serviceFault(): LambdaApiError {
  return new LambdaApiError({
    status: 500,
    errorType: 'ServiceException',
    message: 'The local Lambda host failed to handle the request; see its log.',
    faultType: 'Service',
    messageField: 'Message',
  });
}
