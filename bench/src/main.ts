// Entry point of `pnpm bench`: measures Bullpen against hand-written BullMQ code, prints the
// table and writes it to docs/benchmarks.md.
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchDispatchHttp } from './paths/dispatch-http';
import { benchDispatchLambda } from './paths/dispatch-lambda';
import { benchIdle } from './paths/idle';
import { benchIngest } from './paths/ingest';
import { benchLatency } from './paths/latency';
import { openBenchRedis } from './support/bench-redis';
import type { BenchContext, BullpenService } from './support/context';
import { installInterruptHandlers, isInterrupted } from './support/interrupt';
import { describeMachine } from './support/machine';
import { failedReport, renderTable, type PathReport } from './support/report';
import { RESULTS_DOC, renderResults, writeResults } from './support/results-doc';

const { readServiceNodeFlags } = require('../../scripts/lib/service-node-flags.cjs') as {
  readServiceNodeFlags(service: BullpenService): string[];
};

const PATHS: Record<string, (context: BenchContext) => Promise<PathReport>> = {
  'dispatch-http': benchDispatchHttp,
  'dispatch-lambda': benchDispatchLambda,
  ingest: benchIngest,
  latency: benchLatency,
  idle: benchIdle,
};

const MIN_RUNS = 3;
const MAX_RUNS = 20;

const USAGE = `Usage: pnpm bench [options]

  --path <name>      Run one path (repeatable): ${Object.keys(PATHS).join(', ')}.
                     Default: every path.
  --runs <n>         Measurements per figure, ${MIN_RUNS} to ${MAX_RUNS}; default ${MIN_RUNS}.
  --bullpen-node-args=<flags>
                     Extra Node.js flags for the Bullpen API and dispatcher processes,
                     space-separated, after those of infra/docker/<service>.node-flags
                     that the services ship with. Default: none.
  --baseline-node-args=<flags>
                     Node.js flags for the hand-written baseline processes,
                     space-separated, such as --baseline-node-args=--max-semi-space-size=64.
                     Default: none.
  --profile <dir>    Write CPU profiles of every measured process into <dir>, one
                     directory per process. Summarise one with
                     pnpm --filter @bullpen/bench profile-summary <file.cpuprofile>
  --child-output <dir>
                     Save the whole standard output and error of every child process
                     in <dir>, one file per process, for example the lines of
                     --bullpen-node-args=--trace-gc-nvp. By default only the last 40
                     lines of each child are kept, for error messages.
  --no-write         Print the results without writing docs/benchmarks.md.
                     A run of selected paths never writes it.
  --help             Print this help.

Without REDIS_URL the bench starts its own redis-server on a free loopback port.`;

interface BenchOptions {
  readonly paths: string[];
  readonly runs: number;
  readonly profileDir: string | undefined;
  readonly childOutputDir: string | undefined;
  /** The flags each service ships with, from infra/docker/<service>.node-flags. */
  readonly shippedNodeArgs: Record<BullpenService, string[]>;
  /** The flags of --bullpen-node-args, which follow the shipped ones. */
  readonly bullpenExtraArgs: string[];
  readonly baselineNodeArgs: string[];
  readonly write: boolean;
}

/** An invalid command line, reported without a stack trace and with exit code 2. */
class UsageError extends Error {}

function parseOptions(argv: string[]): BenchOptions | undefined {
  try {
    return readOptions(argv);
  } catch (error) {
    // parseArgs reports unknown options, missing values and stray arguments with these codes.
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError((error as Error).message);
    }
    throw error;
  }
}

function readOptions(argv: string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      path: { type: 'string', multiple: true },
      runs: { type: 'string', default: String(MIN_RUNS) },
      profile: { type: 'string' },
      'child-output': { type: 'string' },
      'bullpen-node-args': { type: 'string', default: '' },
      'baseline-node-args': { type: 'string', default: '' },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return undefined;

  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < MIN_RUNS || runs > MAX_RUNS) {
    throw new UsageError(
      `invalid --runs "${values.runs}": use a whole number from ${MIN_RUNS} to ${MAX_RUNS}`,
    );
  }
  const paths = values.path ?? Object.keys(PATHS);
  for (const name of paths) {
    if (!(name in PATHS)) {
      throw new UsageError(`unknown --path "${name}": use one of ${Object.keys(PATHS).join(', ')}`);
    }
  }
  return {
    paths,
    runs,
    profileDir: values.profile,
    childOutputDir: values['child-output'],
    shippedNodeArgs: {
      api: readServiceNodeFlags('api'),
      dispatcher: readServiceNodeFlags('dispatcher'),
    },
    bullpenExtraArgs: splitFlags(values['bullpen-node-args']),
    baselineNodeArgs: splitFlags(values['baseline-node-args']),
    write: !values['no-write'] && values.path === undefined,
  };
}

/** Splits a space-separated flag list such as `--a=1 --b`. */
function splitFlags(value: string): string[] {
  return value.split(' ').filter((flag) => flag !== '');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2).filter((arg) => arg !== '--'));
  if (!options) {
    console.log(USAGE);
    return;
  }

  const log = (message: string) => console.error(`[bench] ${message}`);
  installInterruptHandlers(log);
  const startedAt = new Date();
  const redis = await openBenchRedis(process.env.REDIS_URL);
  const machine = describeMachine(redis.version);
  const context: BenchContext = {
    redis,
    runs: options.runs,
    profileDir: options.profileDir,
    bullpenNodeArgs: {
      api: [...options.shippedNodeArgs.api, ...options.bullpenExtraArgs],
      dispatcher: [...options.shippedNodeArgs.dispatcher, ...options.bullpenExtraArgs],
    },
    baselineNodeArgs: options.baselineNodeArgs,
    childOutputDir: options.childOutputDir,
    log,
  };
  context.log(
    `redis ${redis.url} (${redis.isPrivate ? 'private' : 'shared'}), prefix ${redis.prefix}`,
  );

  const reports: PathReport[] = [];
  try {
    for (const name of options.paths) {
      if (isInterrupted()) break;
      context.log(`path ${name}`);
      try {
        reports.push(await PATHS[name]!(context));
      } catch (error) {
        // A path fails when a signal has stopped its children, and the clean-up reports the signal.
        if (isInterrupted()) break;
        // One broken path should not cost the figures of the others; the exit code says it.
        console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
        reports.push(failedReport(name, error));
        process.exitCode = 1;
      }
    }
  } finally {
    // After a signal, the handler closes Redis once the processes that use it have stopped.
    if (!isInterrupted()) await redis.close();
  }
  // The handler exits when its clean-up is done, so figures cut short are never reported.
  if (isInterrupted()) return;

  const markdown = renderResults(
    {
      machine,
      runs: options.runs,
      redisIsPrivate: redis.isPrivate,
      shippedNodeArgs: options.shippedNodeArgs,
      bullpenExtraArgs: options.bullpenExtraArgs,
      baselineNodeArgs: options.baselineNodeArgs,
      startedAt,
      durationS: (Date.now() - startedAt.getTime()) / 1000,
      loadAtEnd: os.loadavg(),
    },
    reports,
  );
  console.log(renderTable(reports));
  if (options.write) {
    writeResults(markdown);
    context.log(`results written to ${path.relative(process.cwd(), RESULTS_DOC)}`);
  } else {
    console.log(`\n${markdown}`);
  }
}

main().catch((error: unknown) => {
  // After a signal, the handler reports it and exits once its clean-up is done.
  if (isInterrupted()) return;
  if (error instanceof UsageError) {
    console.error(`pnpm bench: ${error.message}. See pnpm bench --help.`);
    process.exit(2);
  }
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
