import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@bullpen/core';

/** Creates a pino logger whose JSON lines the test reads back from `lines`. */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ name: 'bullpen-api', destination }), lines };
}
