import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths that may carry secrets: registered endpoint headers, bearer and job tokens.
 * pino replaces their values before a line is written.
 */
const REDACTED_PATHS = [
  'headers',
  '*.headers',
  'endpoint.headers',
  '*.endpoint.headers',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
];

export interface LoggerSettings {
  /** Service name bound to every line. */
  readonly name: string;
  /** pino level; default `info`. */
  readonly level?: string;
  /** Destination stream; default standard output. */
  readonly destination?: pino.DestinationStream;
}

/** Creates the JSON logger every Bullpen process uses. */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    name: settings.name,
    level: settings.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: settings.name },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

/** Creates a logger that drops every line, for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
