import { defineScriptCommand, jobLogsKey } from '@bullpen/core';
import type { Redis } from 'ioredis';

/**
 * Reads lines ARGV[1] to ARGV[2] of the log list and its length in one step. BullMQ 5.81's
 * `Queue.getJobLogs` sends the same two reads in MULTI, but Redis 7.0 rejects every command
 * queued in MULTI while used memory is over `maxmemory`, reads too. A script that only reads
 * still runs then.
 *
 * The log key of an id that names another queue key can contain another type, for example the
 * deduplication key "<prefix>:<queue>:de:logs" of the id "de". The script returns no lines for
 * it instead of failing with WRONGTYPE, so the route can return 404 for the unknown job.
 */
const READ_JOB_LOGS_SCRIPT = `
if redis.call('TYPE', KEYS[1]).ok ~= 'list' then
  return { {}, 0 }
end
return { redis.call('LRANGE', KEYS[1], ARGV[1], ARGV[2]), redis.call('LLEN', KEYS[1]) }
`;

type RedisWithJobLogs = Redis & {
  bullpenReadJobLogs(logsKey: string, start: number, end: number): Promise<[string[], number]>;
};

export interface JobLogs {
  readonly logs: string[];
  /** Number of log lines the job has, not only the ones returned. */
  readonly count: number;
}

/**
 * Reader of job log lines. The constructor defines its Redis command, so an app must build
 * it before it serves requests. With auto-pipelining, ioredis gives each batch the commands
 * defined when the batch was created. A command defined later and added to a batch already
 * waiting fails with "pipeline[functionName] is not a function".
 */
export class JobLogReader {
  private readonly redis: RedisWithJobLogs;

  constructor(
    redis: Redis,
    private readonly queuePrefix: string,
  ) {
    this.redis = defineScriptCommand<RedisWithJobLogs>(
      redis,
      'bullpenReadJobLogs',
      1,
      READ_JOB_LOGS_SCRIPT,
    );
  }

  /** Reads up to `length` log lines of a job from index `start`, oldest first. */
  async read(
    queue: string,
    jobId: string,
    range: { start: number; length: number },
  ): Promise<JobLogs> {
    const [logs, count] = await this.redis.bullpenReadJobLogs(
      jobLogsKey(this.queuePrefix, queue, jobId),
      range.start,
      range.start + range.length - 1,
    );
    return { logs, count };
  }
}
