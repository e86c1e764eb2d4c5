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
  return Promise.all(
    added.map(async (job, index): Promise<AddedJobJson> => {
      const input = inputs[index];
      const mayExist = input?.opts?.jobId !== undefined || input?.opts?.deduplication !== undefined;
      if (!mayExist) return toJobJson(job);

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

/**
 * Adds jobs in request order. Plain jobs are added in one atomic `addBulk`; repeating jobs
 * become job schedulers afterwards.
 * NOTE: a request that mixes both is not atomic: when a scheduler fails, the plain jobs
 * already exist.
 */
export async function addJobs(queue: Queue, jobs: JobInput[]): Promise<AddedJobJson[]> {
  const results: AddedJobJson[] = new Array(jobs.length);
  const plainIndexes: number[] = [];
  const repeatIndexes: number[] = [];
  jobs.forEach((job, index) => (job.opts?.repeat ? repeatIndexes : plainIndexes).push(index));

  if (plainIndexes.length > 0) {
    const plain = plainIndexes.map((index) => jobs[index] as JobInput);
    const added = await queue.addBulk(
      plain.map((job) => ({
        name: job.name,
        data: job.data ?? null,
        opts: toBullOptions(job.opts),
      })),
    );
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
