import { toJobJson, type JobInput, type JobJson } from '@bullpen/core';
import { Job, type JobsOptions, type Queue } from 'bullmq';

/** A created job, or the job that already had its id or deduplication id. */
export type AddedJobJson = JobJson & { duplicate?: true };

function toBullOptions(opts: JobInput['opts']): JobsOptions {
  if (!opts) return {};
  // `repeat` goes to the job scheduler instead; every other option is BullMQ's own.
  const { repeat: _repeat, ...rest } = opts;
  return rest as JobsOptions;
}

/**
 * Builds the id of the scheduler a repeating job creates. Adding the same repeating job again
 * updates that scheduler instead of starting a second one.
 */
export function schedulerIdFor(job: JobInput): string {
  const repeat = job.opts?.repeat;
  const schedule = repeat?.pattern ?? `every ${repeat?.every}ms`;
  return repeat?.tz ? `${job.name}@${schedule}@${repeat.tz}` : `${job.name}@${schedule}`;
}

/** Whether BullMQ may return an existing job for `input`: it names a job or deduplication id. */
function mayAlreadyExist(input: JobInput): boolean {
  return input.opts?.jobId !== undefined || input.opts?.deduplication !== undefined;
}

/**
 * BullMQ returns the id it was given for a job whose id already existed, and the existing
 * id for a deduplicated job, without saying which happened. Reading the stored job back and
 * comparing its timestamp, name and data with what was sent separates the two cases.
 */
async function markDuplicates(
  queue: Queue,
  inputs: JobInput[],
  added: Job[],
): Promise<AddedJobJson[]> {
  // Most requests name no ids, so their jobs are converted in one plain pass, without an
  // async call and a promise per job of a bulk request.
  if (!inputs.some(mayAlreadyExist)) return added.map((job) => toJobJson(job));

  return Promise.all(
    added.map(async (job, index): Promise<AddedJobJson> => {
      const input = inputs[index];
      if (!input || !mayAlreadyExist(input)) return toJobJson(job);

      const stored = await Job.fromId(queue, String(job.id));
      if (!stored) return toJobJson(job);
      const isSame =
        stored.timestamp === job.timestamp &&
        stored.name === job.name &&
        JSON.stringify(stored.data) === JSON.stringify(job.data);
      return isSame ? toJobJson(stored) : { ...toJobJson(stored), duplicate: true };
    }),
  );
}

function toBullJob(job: JobInput): { name: string; data: unknown; opts: JobsOptions } {
  return { name: job.name, data: job.data ?? null, opts: toBullOptions(job.opts) };
}

/**
 * Adds plain jobs. One job goes through `Queue.add`, because BullMQ 5.81's `addBulk` builds
 * an ioredis pipeline, and each new pipeline copies every custom command of the connection,
 * one per BullMQ Lua script. In a CPU profile of `pnpm bench --path ingest`, building that
 * pipeline was about 10 % of the API's busy time on single-job posts. Both calls run the same
 * addJob script with the queue's default job options.
 */
async function addPlainJobs(queue: Queue, jobs: JobInput[]): Promise<Job[]> {
  if (jobs.length === 1) {
    const { name, data, opts } = toBullJob(jobs[0] as JobInput);
    return [await queue.add(name, data, opts)];
  }
  return queue.addBulk(jobs.map(toBullJob));
}

/**
 * Adds jobs in request order. Plain jobs are sent together in one `addBulk`; repeating jobs
 * become job schedulers afterwards.
 * NOTE: BullMQ 5.81's `addBulk` sends its jobs in a pipeline, not in MULTI/EXEC, so when
 * Redis fails part-way (out of memory, connection lost) the jobs before the failure stay
 * added. A request that mixes both kinds is not atomic either: when a scheduler fails, the
 * plain jobs already exist.
 */
export async function addJobs(queue: Queue, jobs: JobInput[]): Promise<AddedJobJson[]> {
  const results: AddedJobJson[] = new Array(jobs.length);
  const plainIndexes: number[] = [];
  const repeatIndexes: number[] = [];
  jobs.forEach((job, index) => (job.opts?.repeat ? repeatIndexes : plainIndexes).push(index));

  if (plainIndexes.length > 0) {
    const plain = plainIndexes.map((index) => jobs[index] as JobInput);
    const added = await addPlainJobs(queue, plain);
    const json = await markDuplicates(queue, plain, added);
    plainIndexes.forEach((jobIndex, position) => {
      results[jobIndex] = json[position] as AddedJobJson;
    });
  }

  for (const index of repeatIndexes) {
    const job = jobs[index] as JobInput;
    const { limit, ...repeat } = job.opts?.repeat ?? {};
    const first = await queue.upsertJobScheduler(
      schedulerIdFor(job),
      { ...repeat, ...(limit === undefined ? {} : { limit }) },
      { name: job.name, data: job.data ?? null, opts: toBullOptions(job.opts) },
    );
    results[index] = toJobJson(first);
  }
  return results;
}
