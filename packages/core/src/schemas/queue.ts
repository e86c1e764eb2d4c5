import { z } from 'zod';

export const MAX_QUEUE_NAME_LENGTH = 100;

// With the u flag, a surrogate pair is one code point, so only unpaired surrogates match.
const UNPAIRED_SURROGATE = /\p{Cs}/u;

/**
 * Returns whether `text` survives a round trip through Redis. Redis clients send strings as UTF-8,
 * which cannot encode an unpaired UTF-16 surrogate such as "\ud800", so ioredis writes
 * U+FFFD in its place and a later lookup by the original string finds nothing.
 */
export function isWellFormedText(text: string): boolean {
  return !UNPAIRED_SURROGATE.test(text);
}

export const UNPAIRED_SURROGATE_MESSAGE =
  'must not contain an unpaired UTF-16 surrogate such as "\\ud800", which UTF-8 cannot encode';

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Returns whether `text` has no control character: C0 (tab, newline, NUL, ...), DEL or C1
 * (U+0080 to U+009F, such as NEL).
 */
export function hasNoControlCharacters(text: string): boolean {
  return !CONTROL_CHARACTER.test(text);
}

export const CONTROL_CHARACTER_MESSAGE = 'must not contain control characters';

/**
 * Queue name. BullMQ joins key parts with `:`, so a name containing it would collide with
 * another queue's keys. Braces are allowed so names can carry Redis Cluster hash tags.
 */
export const queueNameSchema = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(MAX_QUEUE_NAME_LENGTH, {
    error: `must be at most ${MAX_QUEUE_NAME_LENGTH} characters`,
  })
  .refine((name) => !name.includes(':'), { error: 'must not contain ":"' })
  .refine(hasNoControlCharacters, { error: CONTROL_CHARACTER_MESSAGE })
  .refine(isWellFormedText, { error: UNPAIRED_SURROGATE_MESSAGE });

/** Every state BullMQ reports for a job. */
export const JOB_STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'completed',
  'failed',
  'paused',
  'waiting-children',
] as const;
export type JobState = (typeof JOB_STATES)[number];

/** States listed when a request names none, as BullMQ Proxy does. */
export const DEFAULT_LISTED_STATES: readonly JobState[] = JOB_STATES.filter(
  (state) => state !== 'paused' && state !== 'waiting-children',
);
