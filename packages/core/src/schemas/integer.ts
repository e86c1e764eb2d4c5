import { z } from 'zod';

/** Bounds of an integer field, with the message for each way a value can miss them. */
export interface IntegerRule {
  readonly min: number;
  /** Largest value. Defaults to Number.MAX_SAFE_INTEGER, the largest that `z.int()` accepts. */
  readonly max?: number;
  /** Message for a value that is not an integer. Defaults to "must be an integer". */
  readonly typeMessage?: string;
  readonly minMessage?: string;
  readonly maxMessage?: string;
}

/**
 * Builds an integer schema whose every message states the rule that failed. In zod 4, the
 * message given to `z.int()` also replaces those of `.min()` and `.max()` checks without
 * their own. `z.int()` also reports a number beyond the safe-integer range as too big or too
 * small, which would otherwise read "must be an integer" too.
 */
export function integerSchema(rule: IntegerRule) {
  const max = rule.max ?? Number.MAX_SAFE_INTEGER;
  const typeMessage = rule.typeMessage ?? 'must be an integer';
  const minMessage = rule.minMessage ?? `must be at least ${rule.min}`;
  const maxMessage = rule.maxMessage ?? `must be at most ${max}`;
  return z
    .int({
      error: (issue) => {
        if (issue.code === 'too_big') return maxMessage;
        if (issue.code === 'too_small') return minMessage;
        return typeMessage;
      },
    })
    .min(rule.min, { error: minMessage })
    .max(max, { error: maxMessage });
}

/**
 * Builds an integer schema of milliseconds: its type message names the unit, and its default
 * minimum message reads "must be at least <min> ms".
 */
export function millisecondsSchema(rule: Omit<IntegerRule, 'typeMessage'>) {
  return integerSchema({
    typeMessage: 'must be an integer number of milliseconds',
    minMessage: `must be at least ${rule.min} ms`,
    ...rule,
  });
}
