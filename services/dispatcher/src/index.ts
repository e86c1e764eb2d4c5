export { loadDispatcherConfig, type DispatcherConfig } from './config';
export {
  startDispatcher,
  type Dispatcher,
  type DispatcherDependencies,
  type DispatcherState,
} from './dispatcher';
export { DispatcherError, DispatcherShutdownError } from './errors';
export type { AwsCredentials, AwsCredentialsSource } from './invokers/aws-credentials';
export type { Clock } from './invokers/call-context';
export {
  createLambdaClient,
  type LambdaClientFactory,
  type LambdaClientSettings,
} from './invokers/lambda-invoker';
export { formatBacklogLine } from './backlog-metric';
export type { CallOutcome, OutcomeKind } from './outcome';
