export {
  createJobHandler,
  type HandlerJob,
  type JobHandlerOptions,
  type JobLambdaHandler,
  type JobProcessor,
} from './create-job-handler';
export type { JobContext } from './context';
export {
  BullpenHandlerError,
  CallbackError,
  InvalidDispatchEventError,
  InvalidJobDataError,
  UnrecoverableError,
  type CallbackKind,
  type DataIssue,
} from './errors';
export type { EventSource } from './event';
export type { FunctionUrlResponse } from './function-url';
export { resolveDataDir } from './data-dir';
