export { BullpenClient, type BullpenClientOptions, type WaitForJobOptions } from './client';
export {
  BullpenApiError,
  BullpenClientError,
  BullpenConnectionError,
  JobWaitTimeoutError,
  type ApiIssue,
} from './errors';
export type {
  AddedJob,
  Job,
  JobList,
  JobListOptions,
  JobLogOptions,
  JobLogs,
  JobState,
  NewJob,
  WorkerRegistrationRequest,
} from './types';
