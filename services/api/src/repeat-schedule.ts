import { repeatDateMs, ValidationError, type JobInput, type ValidationIssue } from '@bullpen/core';
import { defaultRepeatStrategy } from 'bullmq';

/**
 * Rejects repeating jobs whose schedule has no run left at `nowMs`, before any job of the
 * request is added. BullMQ 5.81 throws when `endDate` has passed, and creates nothing when
 * a cron pattern has no match between `startDate` and `endDate`. Asking BullMQ's own
 * `defaultRepeatStrategy` for the first run keeps this check in step with the scheduler.
 */
export function checkRepeatSchedules(jobs: readonly JobInput[], nowMs: number): void {
  const issues: ValidationIssue[] = [];
  jobs.forEach((job, index) => {
    const repeat = job.opts?.repeat;
    if (!repeat) return;

    const endMs = repeatDateMs(repeat.endDate);
    if (endMs !== undefined && endMs <= nowMs) {
      issues.push({
        path: `${index}.opts.repeat.endDate`,
        message: `must be in the future (given: ${JSON.stringify(repeat.endDate)})`,
      });
      return;
    }
    if (repeat.pattern !== undefined && firstRunMs(nowMs, repeat) === undefined) {
      issues.push({
        path: `${index}.opts.repeat`,
        message: `has no run of "${repeat.pattern}" between its startDate and endDate`,
      });
    }
  });

  if (issues.length === 0) return;
  const [first] = issues;
  throw new ValidationError(
    `Invalid jobs: ${first?.path}: ${first?.message}` +
      (issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''),
    issues,
  );
}

function firstRunMs(
  nowMs: number,
  repeat: NonNullable<NonNullable<JobInput['opts']>['repeat']>,
): number | undefined {
  try {
    return defaultRepeatStrategy(nowMs, repeat);
  } catch {
    // cron-parser throws when its start lies past its end, so that schedule has no run either.
    return undefined;
  }
}
