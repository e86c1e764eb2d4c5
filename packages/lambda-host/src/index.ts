export { startLambdaHost, type LambdaHost, type LambdaHostOptions } from './lambda-host';
export type { LocalFunctionDefinition } from './function-definition';
export { InvalidFunctionDefinitionError, LambdaHostError, UnknownFunctionError } from './errors';
export { MAX_REQUEST_PAYLOAD_BYTES } from './api/invoke';
export { MAX_RESPONSE_PAYLOAD_BYTES } from './execution/function-runner';
