// Counts the instructions that an ingest server runs per post, under valgrind's callgrind.
// On a busy 2-core machine, the API's CPU time per post moved by up to half between runs of
// the same code, and its instruction count by under a tenth, so smaller changes show here.
// Callgrind counts user-space instructions only: time spent in system calls is left out.
// Usage: pnpm --filter @bullpen/bench instructions [--server api|minimal]... [--runs 2]
//   [--posts 3000] [--warmup 3000] [--jobs-per-post 1] [--connections 10]
// Needs valgrind (Debian package valgrind). Without REDIS_URL it starts a private redis-server.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { INGEST_JOB } from './support/bench-job';
import { openBenchRedis, type BenchRedis } from './support/bench-redis';
import { REPO_ROOT } from './support/child-process';
import { installInterruptHandlers, onInterrupt } from './support/interrupt';
import { summarize } from './support/stats';

const { readServiceNodeFlags } = require('../../scripts/lib/service-node-flags.cjs') as {
  readServiceNodeFlags(service: 'api'): string[];
};

const USAGE =
  'Usage: pnpm --filter @bullpen/bench instructions [--server api|minimal]... [--runs 2] ' +
  '[--posts 3000] [--warmup 3000] [--jobs-per-post 1] [--connections 10]';
const READY_TIMEOUT_MS = 120_000;
/**
 * Minimum number of warm-up and counted posts. A count over 500 posts after 500 warm-up
 * posts gave 3.4 times the API's count over 3,000 posts after 3,000.
 */
const MIN_POSTS = 1000;
/**
 * Posts sent with instrumentation on before the count starts. The first posts after it is
 * switched on cost more, so they are left out of the count.
 */
const SETTLE_POSTS = 500;
/**
 * The API's Redis deadline during the count. Under callgrind a post took about 10 ms of the
 * API's time instead of about 0.1 ms, and with the default 1,500 ms deadline some posts failed.
 */
const SLOW_REDIS_TIMEOUT_MS = '60000';

type ServerName = 'api' | 'minimal';

interface Options {
  readonly servers: ServerName[];
  readonly runs: number;
  readonly posts: number;
  readonly warmup: number;
  readonly jobsPerPost: number;
  readonly connections: number;
}

function fail(message: string): never {
  console.error(`instructions: ${message}\n${USAGE}`);
  process.exit(2);
}

function integerOption(name: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) {
    fail(`--${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

function readOptions(): Options {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        help: { type: 'boolean', default: false },
        server: { type: 'string', multiple: true },
        runs: { type: 'string', default: '2' },
        posts: { type: 'string', default: '3000' },
        warmup: { type: 'string', default: '3000' },
        'jobs-per-post': { type: 'string', default: '1' },
        connections: { type: 'string', default: '10' },
      },
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const servers = values.server ?? ['api', 'minimal'];
  for (const server of servers) {
    if (server !== 'api' && server !== 'minimal') {
      fail(`--server must be api or minimal, got "${server}"`);
    }
  }
  return {
    servers: [...new Set(servers)] as ServerName[],
    runs: integerOption('runs', values.runs, 1, 20),
    posts: integerOption('posts', values.posts, MIN_POSTS, 1_000_000),
    warmup: integerOption('warmup', values.warmup, MIN_POSTS, 1_000_000),
    jobsPerPost: integerOption('jobs-per-post', values['jobs-per-post'], 1, 1000),
    connections: integerOption('connections', values.connections, 1, 1000),
  };
}

function requireValgrind(): void {
  for (const command of ['valgrind', 'callgrind_control']) {
    const found = spawnSync(command, ['--version'], { stdio: 'ignore' });
    if (found.error) {
      console.error(
        `instructions: ${command} not found. Install valgrind first, for example with ` +
          '`apt-get install valgrind` as root.',
      );
      process.exit(2);
    }
  }
}

/** Returns the program, environment and Node.js flags of a server, as the ingest path sets them. */
function serverSettings(
  server: ServerName,
  redis: BenchRedis,
  token: string,
): { script: string; env: Record<string, string>; nodeArgs: string[] } {
  const base = { REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix };
  if (server === 'minimal') {
    return {
      script: 'bench/src/children/minimal-ingest-server.ts',
      env: { ...base, AUTH_TOKEN: token },
      nodeArgs: [],
    };
  }
  return {
    script: 'services/api/src/main.ts',
    env: {
      ...base,
      AUTH_TOKENS: token,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      REDIS_TIMEOUT_MS: SLOW_REDIS_TIMEOUT_MS,
    },
    nodeArgs: readServiceNodeFlags('api'),
  };
}

function waitForUrl(child: ChildProcess, output: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the server did not listen within ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    );
    const lines = readline.createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      output.push(line);
      if (!line.startsWith('{')) return;
      const parsed = JSON.parse(line) as { msg?: string; url?: string };
      if (parsed.msg === 'api listening' && parsed.url) {
        clearTimeout(timer);
        resolve(parsed.url);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with code ${code} before it listened`));
    });
  });
}

async function post(url: string, token: string, options: Options, amount: number): Promise<void> {
  const result = await autocannon({
    url,
    method: 'POST',
    connections: options.connections,
    amount,
    timeout: 120,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(Array.from({ length: options.jobsPerPost }, () => INGEST_JOB)),
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(
      `${result.non2xx} posts got a non-2xx response and ${result.errors} failed; ` +
        'every post must succeed',
    );
  }
}

/** Reads the `totals:` line that callgrind writes at exit. */
function readTotalInstructions(file: string): number {
  const match = /^totals: (\d+)/m.exec(fs.readFileSync(file, 'utf8'));
  if (!match) throw new Error(`${file} has no totals line`);
  return Number(match[1]);
}

/** Runs one server under callgrind and returns the instructions it ran per post. */
async function countPerPost(
  server: ServerName,
  redis: BenchRedis,
  options: Options,
  workDir: string,
  queue: string,
): Promise<number> {
  const token = crypto.randomBytes(16).toString('hex');
  const { script, env, nodeArgs } = serverSettings(server, redis, token);
  const outFile = path.join(workDir, `${queue}.callgrind`);
  const vgdbPrefix = path.join(workDir, 'vgdb');
  const tsxLoader = pathToFileURL(createRequire(__filename).resolve('tsx')).href;
  const childEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env };
  // Instrumentation starts off, so start-up and warm-up run faster and are not counted.
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      '--smc-check=all-non-file',
      `--vgdb-prefix=${vgdbPrefix}`,
      `--callgrind-out-file=${outFile}`,
      process.execPath,
      ...nodeArgs,
      '--import',
      tsxLoader,
      script,
    ],
    { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const removeCleanup = onInterrupt(
    () => {
      child.kill('SIGKILL');
      return exited;
    },
    () => child.kill('SIGKILL'),
  );
  void exited.then(removeCleanup);
  // vgdb names its pipes after the USER and HOST variables of the valgrind process.
  const controlEnv = { PATH: childEnv.PATH, ...(env.HOST ? { HOST: env.HOST } : {}) };
  const control = (...args: string[]) =>
    execFileSync('callgrind_control', [`--vgdb-prefix=${vgdbPrefix}`, ...args, String(child.pid)], {
      env: controlEnv,
      stdio: 'ignore',
    });

  try {
    const url = `${await waitForUrl(child, output)}/queues/${queue}/jobs`;
    await post(url, token, options, options.warmup);
    control('-i', 'on');
    await post(url, token, options, SETTLE_POSTS);
    control('--zero');
    await post(url, token, options, options.posts);
    control('-i', 'off');
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`${server}: ${(error as Error).message}\n${output.slice(-20).join('\n')}`, {
      cause: error,
    });
  }
  child.kill('SIGTERM');
  await exited;
  return readTotalInstructions(outFile) / options.posts;
}

function formatCount(value: number): string {
  return `${(value / 1000).toFixed(1)}k`;
}

async function main(): Promise<void> {
  const options = readOptions();
  requireValgrind();
  installInterruptHandlers((message) => console.error(`instructions: ${message}`));
  const redis = await openBenchRedis(process.env.REDIS_URL);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bullpen-instructions-'));
  const counts = new Map<ServerName, number[]>(options.servers.map((server) => [server, []]));
  // On Ctrl-C or SIGTERM, the tool kills the server, deletes its files and closes Redis.
  const removeWorkDir = () => fs.rmSync(workDir, { recursive: true, force: true });
  onInterrupt(async () => removeWorkDir(), removeWorkDir);
  try {
    for (let run = 1; run <= options.runs; run += 1) {
      // The order alternates, as in pnpm bench, so a drift in the machine hits both servers.
      const order = run % 2 === 1 ? options.servers : [...options.servers].reverse();
      for (const server of order) {
        const queue = `instructions-${server}-${run}`;
        const perPost = await countPerPost(server, redis, options, workDir, queue);
        counts.get(server)!.push(perPost);
        console.error(`run ${run} ${server}: ${formatCount(perPost)} instructions per post`);
        await redis.deleteQueueKeys(queue);
      }
    }
  } finally {
    await redis.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  }

  console.log(
    `Instructions per post, counted by callgrind in the server process over ${options.posts} ` +
      `posts of ${options.jobsPerPost} job(s) at ${options.connections} connections, after ` +
      `${options.warmup + SETTLE_POSTS} uncounted posts; Node.js ${process.version}, Redis ${redis.version}.`,
  );
  console.log('| Server | Median | Min | Max | Per job (median) |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const [server, values] of counts) {
    const summary = summarize(values);
    const cells = [
      server === 'api' ? 'Bullpen API' : 'minimal node:http server',
      formatCount(summary.median),
      formatCount(summary.min),
      formatCount(summary.max),
      formatCount(summary.median / options.jobsPerPost),
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
}

main().catch((error: unknown) => {
  console.error(`instructions: ${(error as Error).message}`);
  process.exit(1);
});
