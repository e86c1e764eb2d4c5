import type { z } from 'zod';
import { ValidationError, type ValidationIssue } from '../errors';

const MAX_VALUE_PREVIEW_CHARS = 60;

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  if (text.length <= MAX_VALUE_PREVIEW_CHARS) return text;
  // A string's length is given in code points, as zod's length rules count it, and without
  // the quotes and escapes of its JSON text.
  const size =
    typeof value === 'string'
      ? `${[...value].length} characters`
      : `${text.length} characters of JSON`;
  return `${text.slice(0, MAX_VALUE_PREVIEW_CHARS)}... (${size})`;
}

function readPath(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/**
 * Returns the rule an issue broke. zod 4 reports a record key that failed its schema as
 * "Invalid key in record" and keeps the key schema's own messages in `issues`.
 */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code !== 'invalid_key') return issue.message;
  const inner = issue.issues.map((keyIssue) => keyIssue.message);
  return inner.length > 0 ? inner.join('; ') : issue.message;
}

/** Returns " (given: ...)" with the value, or the key for a key issue, or '' for unknown keys. */
function describeGiven(issue: z.core.$ZodIssue, input: unknown): string {
  if (issue.code === 'unrecognized_keys') return '';
  if (issue.code === 'invalid_key') return ` (given: ${describeValue(issue.path.at(-1))})`;
  return ` (given: ${describeValue(readPath(input, issue.path))})`;
}

/**
 * Converts zod issues into Bullpen's issue list, naming the field and the value given. Two
 * checks can fail with the same message, such as the safe-integer range and the maximum of
 * an `integerSchema`, and such repeats are listed once.
 */
export function toValidationIssues(
  error: z.ZodError,
  input: unknown,
  pathPrefix: readonly PropertyKey[] = [],
): ValidationIssue[] {
  const seen = new Set<string>();
  const issues: ValidationIssue[] = [];
  for (const issue of error.issues) {
    const fullPath = [...pathPrefix, ...issue.path];
    const path = fullPath.length === 0 ? '(body)' : fullPath.map(String).join('.');
    const message = `${describeIssue(issue)}${describeGiven(issue, input)}`;
    const key = JSON.stringify([path, message]);
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ path, message });
  }
  return issues;
}

/** Parses `input` with `schema`, throwing a ValidationError that lists every issue. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
  pathPrefix: readonly PropertyKey[] = [],
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;

  const issues = toValidationIssues(result.error, input, pathPrefix);
  const first = issues[0];
  const summary = first ? `${first.path}: ${first.message}` : 'invalid value';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  throw new ValidationError(`Invalid ${what}: ${summary}${more}`, issues);
}
