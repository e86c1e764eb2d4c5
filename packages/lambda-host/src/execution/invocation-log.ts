/** Size of the log tail Lambda returns in `X-Amz-Log-Result` (Invoke API reference: 4 KB). */
export const LOG_TAIL_BYTES = 4096;

/**
 * Characters kept per invocation. A UTF-8 byte tail of 4096 bytes never needs more than 4096
 * characters, so keeping twice that bounds memory without losing any of the tail.
 */
const RETAINED_CHARS = 2 * LOG_TAIL_BYTES;

/** The log lines of one invocation, of which only the end is kept. */
export class InvocationLog {
  private chunks: string[] = [];
  private retainedChars = 0;

  append(text: string): void {
    if (text.length === 0) return;
    const retainedText = text.length > RETAINED_CHARS ? text.slice(-RETAINED_CHARS) : text;
    this.chunks.push(retainedText);
    this.retainedChars += retainedText.length;
    this.dropOldChunks();
  }

  text(): string {
    return this.chunks.join('');
  }

  /** Returns the last `maxBytes` bytes of the log, base64-encoded, from a whole UTF-8 character on. */
  tailBase64(maxBytes = LOG_TAIL_BYTES): string {
    const bytes = Buffer.from(this.text());
    let start = Math.max(0, bytes.length - maxBytes);
    // Skip UTF-8 continuation bytes (10xxxxxx) so the tail does not begin mid-character.
    while (start < bytes.length && ((bytes[start] ?? 0) & 0xc0) === 0x80) start += 1;
    return bytes.subarray(start).toString('base64');
  }

  private dropOldChunks(): void {
    while (
      this.chunks.length > 1 &&
      this.retainedChars - (this.chunks[0]?.length ?? 0) >= RETAINED_CHARS
    ) {
      this.retainedChars -= this.chunks.shift()?.length ?? 0;
    }
  }
}
