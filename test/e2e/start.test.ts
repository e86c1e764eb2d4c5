import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BullpenClient } from '@bullpen/client';

// These tests run `npm start` itself (node scripts/start.mjs) with a private redis-server, the
// Lambda host, the API and the dispatcher as real processes, each stack in its own state dir.

const REPO_ROOT = path.resolve(__dirname, '../..');
const START_SCRIPT = path.join(REPO_ROOT, 'scripts/start.mjs');
/** Bound on startup plus demo, the time a newcomer waits once dependencies are installed. */
const DEMO_TIMEOUT_MS = 60_000;
const EXIT_TIMEOUT_MS = 30_000;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { readServiceNodeFlags } = require('../../scripts/lib/service-node-flags.cjs') as {
  readServiceNodeFlags(service: string): string[];
};

jest.setTimeout(120_000);

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

interface RunningStart {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  output(): string;
}

interface DemoJobOutput {
  readonly queue: string;
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly progress: string | undefined;
  readonly logs: string[];
  readonly returned: string | undefined;
  readonly failed: string | undefined;
}

interface StackOutput {
  readonly apiUrl: string;
  readonly token: string;
  /** Processes started by the stack, by name. */
  readonly pids: Map<string, number>;
  /** Every loopback port the stack printed. */
  readonly ports: number[];
  readonly jobs: DemoJobOutput[];
}

const started: RunningStart[] = [];

afterAll(async () => {
  // A failed test may leave a stack running: kill it and whatever it printed as its processes.
  for (const run of started) {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    const pids = tryParse(run.output())?.pids ?? new Map<string, number>();
    for (const pid of pids.values()) killQuietly(pid);
  }
});

function launch(args: string[]): RunningStart {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bullpen-start-'));
  const env: NodeJS.ProcessEnv = { ...process.env, BULLPEN_STATE_DIR: stateDir };
  // Jest's global setup points REDIS_URL at the shared test Redis; the stack must start its own.
  delete env.REDIS_URL;
  delete env.BULLPEN_DEMO_EXIT;

  const child = spawn(process.execPath, [START_SCRIPT, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

  const run = { child, exited, output: () => output };
  started.push(run);
  return run;
}

async function waitForOutput(run: RunningStart, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!run.output().includes(text)) {
    if (run.child.exitCode !== null) {
      throw new Error(`start exited before printing "${text}":\n${run.output()}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`start did not print "${text}" within ${timeoutMs} ms:\n${run.output()}`);
    }
    await sleep(100);
  }
}

async function waitForExit(run: RunningStart, timeoutMs: number): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`start did not exit within ${timeoutMs} ms:\n${run.output()}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([run.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function parseStackOutput(output: string): StackOutput {
  const apiUrl = /^ {2}API +(http:\/\/\S+)$/m.exec(output)?.[1];
  const token = /^ {2}API token +(\S+)$/m.exec(output)?.[1];
  const processes = /^ {2}Processes +(.+)$/m.exec(output)?.[1];
  if (!apiUrl || !token || !processes) throw new Error(`no stack summary in:\n${output}`);

  const pids = new Map<string, number>();
  for (const entry of processes.split(', ')) {
    const [name, pid] = entry.split(' ');
    pids.set(name!, Number(pid));
  }
  const summary = output.slice(0, output.indexOf('Registered workers:'));
  const ports = [...summary.matchAll(/(?:http|redis):\/\/127\.0\.0\.1:(\d+)/g)].map((match) =>
    Number(match[1]),
  );
  return { apiUrl, token, pids, ports: [...new Set(ports)], jobs: parseDemoJobs(output) };
}

function tryParse(output: string): StackOutput | undefined {
  try {
    return parseStackOutput(output);
  } catch {
    return undefined;
  }
}

/** Reads the demo's job blocks: a header line, then indented progress, log and result lines. */
function parseDemoJobs(output: string): DemoJobOutput[] {
  const jobs: DemoJobOutput[] = [];
  let current: (DemoJobOutput & { logs: string[] }) | undefined;
  for (const line of output.split('\n')) {
    const header = /^ {2}(csv-report|text-stats) job (\S+) "([^"]+)": (\w+) after/.exec(line);
    if (header) {
      current = {
        queue: header[1]!,
        id: header[2]!,
        name: header[3]!,
        state: header[4]!,
        progress: undefined,
        logs: [],
        returned: undefined,
        failed: undefined,
      };
      jobs.push(current);
      continue;
    }
    const detail = /^ {6}(progress|log|returned|failed): (.*)$/.exec(line);
    if (!current || !detail) continue;
    const [, kind, value] = detail;
    if (kind === 'log') current.logs.push(value!);
    else Object.assign(current, { [kind!]: value });
  }
  return jobs;
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits briefly for a process to disappear, since the kernel reaps children asynchronously. */
async function isGoneSoon(pid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    if (!isProcessAlive(pid)) return true;
    await sleep(50);
  }
  return false;
}

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function expectStackGone(stack: StackOutput): Promise<void> {
  for (const [name, pid] of stack.pids) {
    expect({ name, gone: await isGoneSoon(pid) }).toEqual({ name, gone: true });
  }
  for (const port of stack.ports) {
    expect({ port, refused: await connectionRefused(port) }).toEqual({ port, refused: true });
  }
}

describe('npm start -- --demo', () => {
  test('prints every demo result and exits 0', async () => {
    const run = launch(['--demo']);

    await waitForOutput(run, 'Demo finished', DEMO_TIMEOUT_MS);
    const exit = await waitForExit(run, EXIT_TIMEOUT_MS);
    const output = run.output();
    const stack = parseStackOutput(output);

    expect(exit).toEqual({ code: 0, signal: null });
    expect(output).toContain('Demo finished: every job ended as expected.');
    expect(new Set(stack.jobs.map((job) => job.queue))).toEqual(
      new Set(['csv-report', 'text-stats']),
    );
    expect(stack.jobs.length).toBeGreaterThanOrEqual(4);
    for (const job of stack.jobs) {
      const printedOutcome = job.state === 'completed' ? job.returned : job.failed;
      expect({ job: job.name, printedOutcome }).toEqual({
        job: job.name,
        printedOutcome: expect.any(String),
      });
    }
    expect(stack.pids.size).toBe(4);
    await expectStackGone(stack);
  });
});

describe('npm start until Ctrl-C', () => {
  let run: RunningStart;
  let stack: StackOutput;

  beforeAll(async () => {
    run = launch([]);
    await waitForOutput(run, 'Serving until Ctrl-C.', DEMO_TIMEOUT_MS);
    stack = parseStackOutput(run.output());
  });

  test('demo progress and logs are readable through the API', async () => {
    const client = new BullpenClient({ baseUrl: stack.apiUrl, token: stack.token });
    const completed = stack.jobs.filter((job) => job.state === 'completed');

    expect(completed.length).toBeGreaterThanOrEqual(2);
    for (const printed of completed) {
      const job = await client.getJob(printed.queue, printed.id);
      const { logs, count } = await client.getJobLogs(printed.queue, printed.id);

      expect({ id: printed.id, state: job.state }).toEqual({ id: printed.id, state: 'completed' });
      expect(job.progress).toBe(100);
      expect(JSON.stringify(job.progress)).toBe(printed.progress);
      expect(count).toBeGreaterThanOrEqual(2);
      expect(logs).toEqual(printed.logs);
      expect(printed.returned?.startsWith(JSON.stringify(job.returnvalue).slice(0, 100))).toBe(
        true,
      );
    }
  });

  test('services run with their node flags', () => {
    for (const service of ['api', 'dispatcher']) {
      const pid = stack.pids.get(service);
      expect(pid).toBeDefined();
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv.slice(1, 1 + readServiceNodeFlags(service).length)).toEqual(
        readServiceNodeFlags(service),
      );
    }
  });

  test('SIGINT stops every process and frees every port', async () => {
    expect(stack.pids.size).toBe(4);
    for (const pid of stack.pids.values()) expect(isProcessAlive(pid)).toBe(true);

    run.child.kill('SIGINT');
    const exit = await waitForExit(run, EXIT_TIMEOUT_MS);

    expect(exit).toEqual({ code: 0, signal: null });
    expect(run.output()).toContain('dispatcher stopped (exit code 0)');
    expect(run.output()).toContain('api stopped (exit code 0)');
    expect(run.output()).toContain('lambda-host stopped (exit code 0)');
    await expectStackGone(stack);
  });
});
