import path from 'node:path';
import type { BenchRedis } from './bench-redis';

/** Settings and services every path receives from the orchestrating process. */
export interface BenchContext {
  readonly redis: BenchRedis;
  /** Times each path is measured; the report shows the median. */
  readonly runs: number;
  /** Directory for `--cpu-prof` output of the measured processes; undefined turns profiling off. */
  readonly profileDir: string | undefined;
  /**
   * Node.js flags of Bullpen's own processes: those of infra/docker/<service>.node-flags,
   * which the services ship with, then the extra ones of --bullpen-node-args.
   */
  readonly bullpenNodeArgs: Readonly<Record<BullpenService, readonly string[]>>;
  /** Node.js flags of the hand-written baselines: those of --baseline-node-args, by default none. */
  readonly baselineNodeArgs: readonly string[];
  /** Directory for the full output of every child process, or undefined to keep only its last lines. */
  readonly childOutputDir: string | undefined;
  /** Prints a progress line on standard error. */
  log(message: string): void;
}

/**
 * Sampling interval of the CPU profiles. At V8's default of 1,000 µs, one profiled dispatcher
 * run of 10,000 jobs had 1,906 samples, so an item of 1 µs per job got an estimated 10 to 20.
 */
const PROFILE_INTERVAL_US = 100;

/**
 * Node.js flags that write the CPU profiles of a process into the directory `name` when it
 * exits, or none when profiling is off. The tsx loader runs in a thread of its own and each
 * thread writes its own file, so the files keep Node's default names, which differ per
 * thread. The largest file is the main thread's.
 */
export function profileArgs(context: BenchContext, name: string): string[] {
  if (!context.profileDir) return [];
  return [
    '--cpu-prof',
    `--cpu-prof-interval=${PROFILE_INTERVAL_US}`,
    `--cpu-prof-dir=${path.resolve(context.profileDir, name)}`,
  ];
}

/** A Bullpen service that the bench starts as a process of its own. */
export type BullpenService = 'api' | 'dispatcher';

/** Node.js flags of a Bullpen process: the service's flags, then profiling. */
export function bullpenArgs(
  context: BenchContext,
  service: BullpenService,
  name: string,
): string[] {
  return [...context.bullpenNodeArgs[service], ...profileArgs(context, name)];
}

/** Node.js flags of a hand-written baseline process: its flags, then profiling. */
export function baselineArgs(context: BenchContext, name: string): string[] {
  return [...context.baselineNodeArgs, ...profileArgs(context, name)];
}

/** Environment every dispatcher child gets besides its Redis and endpoint settings. */
export function dispatcherEnv(context: BenchContext): Record<string, string> {
  return {
    REDIS_URL: context.redis.url,
    QUEUE_PREFIX: context.redis.prefix,
    ENDPOINT_ALLOWLIST: '127.0.0.0/8',
    // Sent to endpoints as callbackUrl only; no-op endpoints never call it.
    PUBLIC_API_URL: 'http://127.0.0.1:9',
    LOG_LEVEL: 'info',
    METRICS_PORT: '0',
    METRICS_HOST: '127.0.0.1',
    AWS_REGION: 'us-east-1',
    // The dispatcher used by the idle path builds the SDK's default credential chain on its
    // first Lambda call. Fixed variables end that chain at its first step, and the metadata
    // services stay switched off in case a later step ran anyway.
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}
