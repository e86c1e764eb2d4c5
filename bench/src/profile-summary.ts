// Prints where a V8 CPU profile (`node --cpu-prof`) spent its time: by package and by
// function, self time and total time, as shares of the busy (non-idle) time.
// Usage: pnpm --filter @bullpen/bench profile-summary <file.cpuprofile> [--top 30] [--skip-ms 0]
// `--skip-ms` leaves out the first milliseconds of the profile, such as module loading.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './support/child-process';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Nodes V8 reports for time outside JavaScript that the process was not busy with. */
const IDLE_FRAMES = new Set(['(idle)']);

/** Names the package a script belongs to, or a V8 pseudo-frame such as `(garbage collector)`. */
function packageOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node (built-in)';

  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pnpm?.[1]) return pnpm[1];
  const plain = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (plain?.[1]) return plain[1];
  const workspace = /\/(services|packages|bench)\/([^/]+)\//.exec(url);
  if (workspace) return workspace[1] === 'bench' ? '@bullpen/bench' : `@bullpen/${workspace[2]}`;
  return url;
}

function describeFrame(frame: CallFrame): string {
  const file = frame.url.replace(/^file:\/\//, '').replace(/^.*node_modules\/\.pnpm\/[^/]+\//, '');
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  return file === '' ? name : `${name} ${file}:${frame.lineNumber + 1}`;
}

/** Self and total microseconds per key, total counted once per sample even under recursion. */
function aggregate(
  profile: CpuProfile,
  keyOf: (frame: CallFrame) => string,
  skipUs: number,
): { self: Map<string, number>; total: Map<string, number>; busyUs: number } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node] as const));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  }

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let busyUs = 0;
  let elapsedUs = 0;
  profile.samples.forEach((nodeId, index) => {
    const node = byId.get(nodeId);
    const deltaUs = profile.timeDeltas[index] ?? 0;
    elapsedUs += deltaUs;
    if (elapsedUs < skipUs) return;
    if (!node || IDLE_FRAMES.has(node.callFrame.functionName)) return;
    busyUs += deltaUs;

    const selfKey = keyOf(node.callFrame);
    self.set(selfKey, (self.get(selfKey) ?? 0) + deltaUs);
    const seen = new Set<string>();
    for (let id: number | undefined = nodeId; id !== undefined; id = parentOf.get(id)) {
      const frame = byId.get(id)?.callFrame;
      if (!frame || frame.functionName === '(root)') continue;
      const key = keyOf(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + deltaUs);
    }
  });
  return { self, total, busyUs };
}

function printTable(
  title: string,
  rows: Map<string, number>,
  busyUs: number,
  top: number,
  extra?: Map<string, number>,
): void {
  console.log(`\n${title}`);
  const sorted = [...rows.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [key, us] of sorted) {
    const share = ((us / busyUs) * 100).toFixed(1).padStart(5);
    const other = extra ? `  total ${(((extra.get(key) ?? 0) / busyUs) * 100).toFixed(1)}%` : '';
    console.log(`${share}%  ${key}${other}`);
  }
}

const USAGE =
  'Usage: pnpm --filter @bullpen/bench profile-summary <file.cpuprofile> [--top 30] [--skip-ms 0]\n' +
  'A relative path is taken from the repository root, where `pnpm bench --profile` writes.';

/** Reads the command line, exiting with status 2 and the usage when it is invalid. */
function readOptions(): { file: string; top: number; skipUs: number } {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2).filter((arg) => arg !== '--'),
      allowPositionals: true,
      options: {
        top: { type: 'string', default: '30' },
        'skip-ms': { type: 'string', default: '0' },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    console.error(`profile-summary: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (parsed.values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const top = Number(parsed.values.top);
  const skipMs = Number(parsed.values['skip-ms']);
  const fileArgument = parsed.positionals[0];
  const validNumbers = Number.isInteger(top) && top > 0 && Number.isFinite(skipMs) && skipMs >= 0;
  if (!fileArgument || parsed.positionals.length > 1 || !validNumbers) {
    console.error(USAGE);
    process.exit(2);
  }

  // pnpm --filter runs this script in bench/, so a relative path is taken from the repository root.
  const file = path.resolve(REPO_ROOT, fileArgument);
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
    console.error(
      `profile-summary: file not found: ${file}. Pass a file that pnpm bench --profile wrote.`,
    );
    process.exit(2);
  }
  return { file, top, skipUs: skipMs * 1000 };
}

function main(): void {
  const { file, top, skipUs } = readOptions();
  let profile: CpuProfile;
  try {
    profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  } catch (error) {
    console.error(`profile-summary: ${file} is not a CPU profile: ${(error as Error).message}`);
    process.exit(2);
  }
  if (!Array.isArray(profile?.nodes) || !Array.isArray(profile.samples)) {
    console.error(`profile-summary: ${file} has no nodes and samples; pass a .cpuprofile file.`);
    process.exit(2);
  }

  const byPackage = aggregate(profile, packageOf, skipUs);
  const byFunction = aggregate(profile, describeFrame, skipUs);
  console.log(`${file}: ${(byPackage.busyUs / 1000).toFixed(0)} ms busy`);
  printTable('Self time by package', byPackage.self, byPackage.busyUs, top);
  printTable('Total time by package', byPackage.total, byPackage.busyUs, top);
  printTable('Self time by function', byFunction.self, byFunction.busyUs, top, byFunction.total);
  printTable('Total time by function', byFunction.total, byFunction.busyUs, top);
}

main();
