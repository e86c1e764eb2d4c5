import crypto from 'node:crypto';

const ID_BYTES = 24;
/** Ids drawn per refill of the random buffer; one refill costs about as much as one draw. */
const IDS_PER_REFILL = 128;

/**
 * Creates W3C Trace Context `traceparent` values with a new trace id and span id, sampled.
 * Each call starts its own trace because jobs carry no trace context of their own. Random
 * bytes are drawn in batches because one `randomBytes` call per dispatch showed up in
 * dispatch profiles.
 */
export class TraceparentSource {
  private readonly pool = Buffer.alloc(ID_BYTES * IDS_PER_REFILL);
  private offset = this.pool.length;

  next(): string {
    if (this.offset + ID_BYTES > this.pool.length) {
      crypto.randomFillSync(this.pool);
      this.offset = 0;
    }
    const ids = this.pool.subarray(this.offset, this.offset + ID_BYTES);
    this.offset += ID_BYTES;
    // An all-zero trace id or span id is invalid. Setting one low bit of each rules that
    // out at the cost of one bit of randomness.
    ids[15]! |= 1;
    ids[23]! |= 1;
    return `00-${ids.toString('hex', 0, 16)}-${ids.toString('hex', 16, 24)}-01`;
  }
}
