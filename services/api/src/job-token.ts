import {
  NotFoundError,
  UnauthorizedError,
  defineScriptCommand,
  jobKey,
  jobLockKey,
} from '@bullpen/core';
import type { Redis } from 'ioredis';

/**
 * Reads the job's existence and lock in one step, so a job that finishes between the two
 * checks cannot pass with a stale lock. Returns 0 when the job is gone, 1 when the token is
 * not the current lock, 2 when it is.
 */
const CHECK_JOB_TOKEN_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return 1
end
return 2
`;

type RedisWithTokenCheck = Redis & {
  bullpenCheckJobToken(jobKey: string, lockKey: string, token: string): Promise<number>;
};

/**
 * Checks that `token` is the current BullMQ lock token of the job: it authorises progress
 * and log callbacks only while that attempt holds the lock. Reads only, so a callback for a
 * job that no longer exists creates no key.
 */
export class JobTokenVerifier {
  private readonly redis: RedisWithTokenCheck;

  constructor(
    redis: Redis,
    private readonly queuePrefix: string,
  ) {
    this.redis = defineScriptCommand<RedisWithTokenCheck>(
      redis,
      'bullpenCheckJobToken',
      2,
      CHECK_JOB_TOKEN_SCRIPT,
    );
  }

  async verify(queue: string, jobId: string, token: string | undefined): Promise<void> {
    const result = await this.redis.bullpenCheckJobToken(
      jobKey(this.queuePrefix, queue, jobId),
      jobLockKey(this.queuePrefix, queue, jobId),
      token ?? '',
    );
    if (result === 0) {
      throw new NotFoundError(`Job "${jobId}" was not found in queue "${queue}".`);
    }
    if (token === undefined) {
      throw new UnauthorizedError(
        'Missing job token; send "Authorization: Bearer <token>" with the token the job was dispatched with.',
      );
    }
    if (result !== 2) {
      throw new UnauthorizedError(
        `The job token is not valid for job "${jobId}": it belongs to another job, an earlier attempt, or a finished job.`,
      );
    }
  }
}
