import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { registryKeys } from '@bullpen/core';
import { Redis } from 'ioredis';

// The bench's summary scripts run as `pnpm --filter @bullpen/bench <script>`, which starts
// them in bench/. They run here the same way, so relative paths are tested as users pass them.

const REPO_ROOT = path.resolve(__dirname, '../..');
const BENCH_DIR = path.join(REPO_ROOT, 'bench');

function runScript(
  script: string,
  args: string[],
  timeoutMs = 30_000,
): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', `src/${script}.ts`, ...args], {
    cwd: BENCH_DIR,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { status: result.status, output: result.stdout + result.stderr };
}

/** A profile with one idle sample and three busy ones: two in `handle`, one in `encode`. */
const PROFILE = {
  nodes: [
    { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 3] },
    { id: 2, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
    {
      id: 3,
      callFrame: {
        functionName: 'handle',
        url: 'file:///app/services/api/src/a.ts',
        lineNumber: 9,
      },
      children: [4],
    },
    {
      id: 4,
      callFrame: {
        functionName: 'encode',
        url: 'file:///app/services/api/src/a.ts',
        lineNumber: 19,
      },
    },
  ],
  samples: [2, 3, 3, 4],
  timeDeltas: [1000, 1000, 1000, 1000],
};

let workDir: string;

beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-tools-'));
});

afterAll(() => {
  fs.rmSync(workDir, { recursive: true, force: true });
});

test.each(['profile-summary', 'gc-summary'])('%s --help prints usage', (script) => {
  const { status, output } = runScript(script, ['--help']);

  expect(status).toBe(0);
  expect(output).toContain(`Usage: pnpm --filter @bullpen/bench ${script}`);
});

describe('profile-summary', () => {
  test('prints busy time and self shares', () => {
    const file = path.join(workDir, 'main.cpuprofile');
    fs.writeFileSync(file, JSON.stringify(PROFILE));

    const { status, output } = runScript('profile-summary', [file]);

    expect(status).toBe(0);
    expect(output).toContain('3 ms busy');
    expect(output).toMatch(/66\.7%\s+handle \/app\/services\/api\/src\/a\.ts:10/);
    expect(output).toMatch(/33\.3%\s+encode \/app\/services\/api\/src\/a\.ts:20/);
  });

  test('resolves a relative path from the repository root', () => {
    const relativeDir = fs.mkdtempSync(path.join(REPO_ROOT, '.bench-tools-'));
    try {
      fs.writeFileSync(path.join(relativeDir, 'main.cpuprofile'), JSON.stringify(PROFILE));
      const relative = path.join(path.basename(relativeDir), 'main.cpuprofile');

      const { status, output } = runScript('profile-summary', [relative]);

      expect(status).toBe(0);
      expect(output).toContain('3 ms busy');
    } finally {
      fs.rmSync(relativeDir, { recursive: true, force: true });
    }
  });

  test.each([
    ['a missing file', ['no-such.cpuprofile'], 'file not found'],
    ['a non-numeric --top', ['x.cpuprofile', '--top', 'many'], 'Usage:'],
    ['a negative --skip-ms', ['x.cpuprofile', '--skip-ms', '-5'], 'Usage:'],
    ['an unknown option', ['x.cpuprofile', '--verbose'], 'Usage:'],
  ])('exits 2 on %s', (_case, args, message) => {
    const { status, output } = runScript('profile-summary', args);

    expect(status).toBe(2);
    expect(output).toContain(message);
  });

  test.each([
    ['text that is not JSON', 'not json', 'is not a CPU profile'],
    ['JSON null', 'null', 'has no nodes and samples'],
    ['JSON without samples', '{"nodes": []}', 'has no nodes and samples'],
  ])('exits 2 on %s', (_case, content, message) => {
    const file = path.join(workDir, 'bad.cpuprofile');
    fs.writeFileSync(file, content);

    const { status, output } = runScript('profile-summary', [file]);

    expect(status).toBe(2);
    expect(output).toContain(message);
  });
});

describe('gc-summary', () => {
  const traceLine = (kind: string, pauseMs: number, promotedBytes: number) =>
    `pause=${pauseMs} mutator=0.1 gc=${kind} reduce_memory=0 new_space_survived=2000000 promoted=${promotedBytes}`;

  test('summarises young collections per process', () => {
    const dir = fs.mkdtempSync(path.join(workDir, 'gc-'));
    const lines = [
      traceLine('s', 1.0, 1_000_000),
      'an unrelated log line',
      traceLine('s', 3.0, 3_000_000),
      traceLine('mc', 20, 0),
      traceLine('s', 2.0, 2_000_000),
    ];
    fs.writeFileSync(path.join(dir, 'dispatcher-42.log'), lines.join('\n'));

    const { status, output } = runScript('gc-summary', [dir, '--skip', '0']);

    expect(status).toBe(0);
    expect(output).toContain('| dispatcher-42.log | 3 | 6.0 | 2.00 | 2.00 | 2.00 | 1 |');
  });

  test('leaves out the first collections with --skip', () => {
    const dir = fs.mkdtempSync(path.join(workDir, 'gc-'));
    const lines = [traceLine('s', 9.0, 9_000_000), traceLine('s', 1.0, 1_000_000)];
    fs.writeFileSync(path.join(dir, 'api-7.log'), lines.join('\n'));

    const { status, output } = runScript('gc-summary', [dir, '--skip', '1']);

    expect(status).toBe(0);
    expect(output).toContain('| api-7.log | 1 | 1.0 | 1.00 | 2.00 | 1.00 | 0 |');
  });

  test('exits 1 without trace lines', () => {
    const dir = fs.mkdtempSync(path.join(workDir, 'gc-'));
    fs.writeFileSync(path.join(dir, 'api-7.log'), 'no trace here\n');

    const { status, output } = runScript('gc-summary', [dir]);

    expect(status).toBe(1);
    expect(output).toContain('no --trace-gc-nvp lines');
  });

  test('exits 2 on a missing directory', () => {
    const { status, output } = runScript('gc-summary', [path.join(workDir, 'absent')]);

    expect(status).toBe(2);
    expect(output).toContain('directory not found');
  });
});

const hasValgrind = !spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).error;

describe('instructions', () => {
  test('exits 2 on an unknown server', () => {
    const { status, output } = runScript('instructions', ['--server', 'nginx']);

    expect(status).toBe(2);
    expect(output).toContain('--server must be api or minimal, got "nginx"');
  });

  test('exits 2 on exponent notation', () => {
    const { status, output } = runScript('instructions', ['--posts', '1e4']);

    expect(status).toBe(2);
    expect(output).toContain('got "1e4"');
  });

  test('exits 2 on a zero post count', () => {
    const { status, output } = runScript('instructions', ['--posts', '0']);

    expect(status).toBe(2);
    expect(output).toContain('--posts must be a whole number from 1000 to 1000000, got "0"');
  });

  // Skipped where valgrind is missing: the count runs the server under callgrind.
  (hasValgrind ? test : test.skip)(
    'counts instructions of the minimal server',
    () => {
      // The script inherits REDIS_URL from the test run, so it uses the test run's Redis.
      const { status, output } = runScript(
        'instructions',
        ['--server', 'minimal', '--runs', '1', '--posts', '1000', '--warmup', '1000'],
        170_000,
      );

      expect(status).toBe(0);
      const row = /\| minimal node:http server \| ([\d.]+)k \|/.exec(output);
      expect(row).not.toBeNull();
      expect(Number(row![1])).toBeGreaterThan(10);
    },
    180_000,
  );
});

/** Lists the processes whose parent is `parentPid`, with their command lines, from /proc. */
function childrenOf(parentPid: number): { pid: number; command: string }[] {
  const children: { pid: number; command: string }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The fields after the command name, which may itself contain spaces and parentheses.
      const parentField = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
      if (Number(parentField) !== parentPid) continue;
      const command = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      children.push({ pid: Number(entry), command });
    } catch {
      // The process ended while the list was read.
    }
  }
  return children;
}

/**
 * Tells whether `pid` is a live process. A zombie counts as gone: a process whose parent died
 * is handed to PID 1, which in some containers never reaps it.
 */
function isRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Returns the processes of `pids` still running after up to 5 s. The esbuild service that tsx
 * starts in each process exits on its own once its parent has gone, which can take a moment.
 */
async function stillRunning(pids: number[]): Promise<number[]> {
  const deadline = Date.now() + 5_000;
  let running = pids.filter(isRunning);
  while (running.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    running = running.filter(isRunning);
  }
  return running;
}

async function waitFor<T>(
  read: () => T | undefined | Promise<T | undefined>,
  description: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Lists the processes below `pid`, each before its own children, from /proc. */
function descendantsOf(pid: number): { pid: number; command: string }[] {
  return childrenOf(pid).flatMap((child) => [child, ...descendantsOf(child.pid)]);
}

const BENCH_ARGS = ['--runs', '3', '--no-write'];

/**
 * Starts one path of the bench and collects its standard error. It runs as `node --import
 * tsx`, the command of the pnpm script, or through `pnpm bench` in a process group of its own.
 * A signal to that group then reaches pnpm and the bench, as a terminal's Ctrl-C does.
 */
function startBench(
  redisUrl: string | undefined,
  through: 'node' | 'pnpm' = 'node',
  benchPath = 'idle',
): { child: ChildProcess; errorLines: string[] } {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  if (redisUrl) env.REDIS_URL = redisUrl;
  const child =
    through === 'node'
      ? spawn(
          process.execPath,
          ['--import', 'tsx', 'bench/src/main.ts', '--path', benchPath, ...BENCH_ARGS],
          {
            cwd: REPO_ROOT,
            env,
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        )
      : spawn('pnpm', ['--silent', 'bench', '--path', benchPath, ...BENCH_ARGS], {
          cwd: REPO_ROOT,
          env,
          stdio: ['ignore', 'ignore', 'pipe'],
          detached: true,
        });
  const errorLines: string[] = [];
  readline.createInterface({ input: child.stderr! }).on('line', (line) => errorLines.push(line));
  return { child, errorLines };
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

describe('pnpm bench interrupted', () => {
  const started: ChildProcess[] = [];

  /** Processes a test saw below its bench, killed afterwards if the bench left them behind. */
  const seen: number[] = [];
  const watch = (benchPid: number) => {
    const processes = descendantsOf(benchPid);
    seen.push(...processes.map((entry) => entry.pid));
    return processes;
  };

  /** Waits for the key prefix that the bench prints when it starts. */
  const keyPrefixOf = (errorLines: string[]) =>
    waitFor(
      () => errorLines.map((line) => /prefix (bench-[0-9a-f]+)/.exec(line)?.[1]).find(Boolean),
      'the bench to name its key prefix',
    );

  /** Starts the idle path through node and waits until it has started a dispatcher. */
  const startUntilDispatcher = async (redisUrl: string | undefined) => {
    const { child, errorLines } = startBench(redisUrl);
    started.push(child);
    const exited = exitOf(child);
    const dispatcher = await waitFor(
      () => childrenOf(child.pid!).find((entry) => entry.command.includes('services/dispatcher')),
      'the idle path to start a dispatcher',
    );
    return { child, errorLines, exited, dispatcher };
  };

  afterEach(() => {
    // A failed test must not leave its bench and the processes it started running.
    const benches = started.splice(0);
    for (const child of benches) watch(child.pid!);
    for (const pid of [...seen.splice(0), ...benches.map((child) => child.pid!)]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });

  test('SIGTERM stops processes and deletes keys', async () => {
    const redisUrl = process.env.REDIS_URL as string;
    const { child, errorLines, exited, dispatcher } = await startUntilDispatcher(redisUrl);
    const prefix = await keyPrefixOf(errorLines);
    const redis = new Redis(redisUrl, { lazyConnect: true });
    const runKeys = async () => [
      ...(await redis.keys(`${prefix}:*`)),
      ...(await redis.keys(`{bullpen:${prefix}}:*`)),
    ];
    try {
      await redis.connect();
      expect(await redis.exists(registryKeys(prefix).workers)).toBe(1);
      watch(child.pid!);

      child.kill('SIGTERM');
      const exit = await exited;

      expect(exit).toEqual({ code: 143, signal: null });
      expect(errorLines.join('\n')).toContain('[bench] SIGTERM: cleaning up');
      expect(isRunning(dispatcher.pid)).toBe(false);
      expect(await runKeys()).toEqual([]);
    } finally {
      redis.disconnect();
    }
  }, 120_000);

  test('SIGINT stops the private Redis', async () => {
    const { child, errorLines, exited, dispatcher } = await startUntilDispatcher(undefined);
    const redisServer = childrenOf(child.pid!).find((entry) =>
      entry.command.includes('redis-server'),
    );
    expect(redisServer).toBeDefined();
    // redis-server replaces its command line with its address, but it runs in its --dir.
    const dataDir = fs.readlinkSync(`/proc/${redisServer!.pid}/cwd`);
    expect(path.basename(dataDir)).toMatch(/^bullpen-bench-/);
    watch(child.pid!);

    child.kill('SIGINT');
    const exit = await exited;

    expect(exit).toEqual({ code: 130, signal: null });
    expect(errorLines.join('\n')).toContain('[bench] SIGINT: cleaning up');
    expect(isRunning(dispatcher.pid)).toBe(false);
    expect(isRunning(redisServer!.pid)).toBe(false);
    expect(fs.existsSync(dataDir)).toBe(false);
  }, 120_000);

  test('Ctrl-C to pnpm bench stops everything', async () => {
    const { child, errorLines } = startBench(undefined, 'pnpm');
    started.push(child);
    const exited = exitOf(child);

    await waitFor(
      () =>
        descendantsOf(child.pid!).some((entry) => entry.command.includes('services/dispatcher'))
          ? true
          : undefined,
      'the idle path to start a dispatcher',
    );
    const before = watch(child.pid!);
    const redisServer = before.find((entry) => entry.command.includes('redis-server'));
    expect(redisServer).toBeDefined();
    const dataDir = fs.readlinkSync(`/proc/${redisServer!.pid}/cwd`);

    process.kill(-child.pid!, 'SIGINT');
    const exit = await exited;

    // pnpm passes the bench's 130 on, or ends itself by the same signal once the bench exits.
    expect(['SIGINT', 130]).toContain(exit.signal ?? exit.code);
    expect(errorLines.join('\n')).toContain('[bench] SIGINT: cleaning up');
    expect(errorLines.join('\n')).not.toContain('SIGINT again:');
    expect(await stillRunning(before.map((entry) => entry.pid))).toEqual([]);
    expect(fs.existsSync(dataDir)).toBe(false);
  }, 120_000);

  test('SIGINT during latency posts deletes its keys', async () => {
    const redisUrl = process.env.REDIS_URL as string;
    const { child, errorLines } = startBench(redisUrl, 'node', 'latency');
    started.push(child);
    const exited = exitOf(child);
    const prefix = await keyPrefixOf(errorLines);
    const redis = new Redis(redisUrl, { lazyConnect: true });
    try {
      await redis.connect();
      // The id counter of the jobs added through the API appears with the first of them. The
      // warm-up then goes on posting to the API, which the clean-up stops.
      await waitFor(
        async () => ((await redis.exists(`${prefix}:latency:id`)) === 1 ? true : undefined),
        'the latency path to add jobs through the API',
      );
      const processes = watch(child.pid!);

      child.kill('SIGINT');
      const exit = await exited;

      expect(exit).toEqual({ code: 130, signal: null });
      expect(await stillRunning(processes.map((entry) => entry.pid))).toEqual([]);
      expect(await redis.keys(`${prefix}:*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  }, 120_000);
});
