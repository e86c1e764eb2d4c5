import path from 'node:path';

/** Settings of `npm start`, from its command line and environment. */
export interface StackConfig {
  readonly repoRoot: string;
  /** Directory for Redis data and service logs. */
  readonly stateDir: string;
  /** An existing Redis to use instead of starting a private redis-server. */
  readonly redisUrl: string | undefined;
  /** Run the demo, shut down and exit instead of serving until Ctrl-C. */
  readonly demoExit: boolean;
  /** pino level of the services' logs. */
  readonly logLevel: string;
  /** How long the dispatcher may let running jobs finish when the stack stops. */
  readonly shutdownGraceMs: number;
  readonly showHelp: boolean;
}

export const USAGE = `Usage: npm start [-- --demo]

Starts Redis, the local Lambda host with the example functions, the Bullpen API and the
dispatcher, registers the example workers and runs a short demo. Then it serves until Ctrl-C.

Options:
  --demo       run the demo, shut everything down and exit (same as BULLPEN_DEMO_EXIT=1)
  --help       print this text

Environment:
  REDIS_URL          use this Redis instead of starting a private redis-server
  BULLPEN_STATE_DIR  directory for Redis data and service logs (default: .local)
  BULLPEN_DEMO_EXIT  1 or true: same as --demo
  LOG_LEVEL          level of the service logs (default: info)`;

const TRUE_VALUES = new Set(['1', 'true', 'yes']);
const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

/** Reads the stack's settings; throws naming the bad argument or variable. */
export function loadStackConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  repoRoot: string,
): StackConfig {
  const unknown = argv.filter((arg) => arg !== '--demo' && arg !== '--help' && arg !== '-h');
  if (unknown.length > 0) {
    throw new Error(`Unknown argument ${unknown.join(' ')}.\n\n${USAGE}`);
  }

  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!LOG_LEVELS.has(logLevel)) {
    throw new Error(`LOG_LEVEL must be one of ${[...LOG_LEVELS].join(', ')} (given: ${logLevel}).`);
  }
  const redisUrl = env.REDIS_URL?.trim() || undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    // The value is left out because it may contain a password.
    throw new Error('REDIS_URL must be a redis:// or rediss:// URL.');
  }

  return {
    repoRoot,
    stateDir: path.resolve(repoRoot, env.BULLPEN_STATE_DIR?.trim() || '.local'),
    redisUrl,
    demoExit: argv.includes('--demo') || TRUE_VALUES.has(env.BULLPEN_DEMO_EXIT?.trim() ?? ''),
    logLevel,
    shutdownGraceMs: DEFAULT_SHUTDOWN_GRACE_MS,
    showHelp: argv.includes('--help') || argv.includes('-h'),
  };
}
