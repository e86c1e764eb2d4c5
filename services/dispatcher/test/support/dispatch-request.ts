import type { DispatchRequest } from '@bullpen/core';

/** Builds the request document of job 7 of queue "thumbnails", first attempt, with `data`. */
export function sampleDispatchRequest(data: unknown = null): DispatchRequest {
  return {
    job: {
      id: '7',
      name: 'resize',
      data,
      opts: {},
      progress: 0,
      returnvalue: null,
      stacktrace: [],
      attemptsMade: 0,
      attemptsStarted: 1,
      delay: 0,
      timestamp: 1_700_000_000_000,
      queueQualifiedName: 'bull:thumbnails',
    },
    token: 'lock-token-7',
    queue: 'thumbnails',
    callbackUrl: 'http://127.0.0.1:9/',
  };
}
