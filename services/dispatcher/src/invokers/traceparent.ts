import crypto from 'node:crypto';

/**
 * Creates a W3C Trace Context `traceparent` with a new trace id and span id, sampled.
 * Each call starts its own trace because jobs carry no trace context of their own.
 */
export function createTraceparent(): string {
  const ids = crypto.randomBytes(24);
  // An all-zero trace id or span id is invalid; the odds are 2^-128 and 2^-64, but a
  // fixed low bit removes them at the cost of one bit of randomness.
  ids[15] = (ids[15] ?? 0) | 1;
  ids[23] = (ids[23] ?? 0) | 1;
  return `00-${ids.subarray(0, 16).toString('hex')}-${ids.subarray(16, 24).toString('hex')}-01`;
}
