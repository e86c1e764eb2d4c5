// Prints the young-generation collections of every process whose output a bench run saved
// with --child-output and --trace-gc-nvp, with their pauses and the bytes they promoted.
// Usage: pnpm --filter @bullpen/bench gc-summary <dir> [--skip 5]
// <dir> is relative to the repository root, as --child-output is. `--skip` leaves out each
// process's first young collections, which happen while modules load, from every column.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './support/child-process';
import { summarize } from './support/stats';

const USAGE = 'Usage: pnpm --filter @bullpen/bench gc-summary <dir> [--skip 5]';

/**
 * Values of `gc=` for young-generation collections: `s` for a scavenge, and `mmc` for a minor
 * mark-compact, which V8 runs instead when started with --minor-mc.
 */
const YOUNG_KINDS = new Set(['s', 'mmc']);
/** Value of `gc=` for a full collection. */
const FULL_KIND = 'mc';

/** The fields of one --trace-gc-nvp line that the summary reads. */
interface YoungCollection {
  readonly pauseMs: number;
  readonly survivedBytes: number;
  readonly promotedBytes: number;
}

interface FileCollections {
  readonly young: YoungCollection[];
  readonly fullCollections: number;
}

/** Reads `name=value` pairs from one --trace-gc-nvp line. */
function readFields(line: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const match of line.matchAll(/(\S+)=(\S+)/g)) fields.set(match[1]!, match[2]!);
  return fields;
}

/** Reads one young collection, or undefined when a field is missing or not a number. */
function readYoungCollection(fields: Map<string, string>): YoungCollection | undefined {
  const pauseMs = Number(fields.get('pause'));
  const survivedBytes = Number(fields.get('new_space_survived'));
  const promotedBytes = Number(fields.get('promoted'));
  if (![pauseMs, survivedBytes, promotedBytes].every(Number.isFinite)) return undefined;
  return { pauseMs, survivedBytes, promotedBytes };
}

function readCollections(file: string): FileCollections {
  const young: YoungCollection[] = [];
  let fullCollections = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const fields = readFields(line);
    const kind = fields.get('gc');
    if (kind === FULL_KIND) fullCollections += 1;
    if (kind === undefined || !YOUNG_KINDS.has(kind)) continue;

    const collection = readYoungCollection(fields);
    if (collection) young.push(collection);
  }
  return { young, fullCollections };
}

function formatRow(file: string, collections: FileCollections, skip: number): string | undefined {
  const measured = collections.young.slice(skip);
  if (measured.length === 0) return undefined;

  const median = (pick: (collection: YoungCollection) => number) =>
    summarize(measured.map(pick)).median;
  const cells = [
    path.basename(file),
    String(measured.length),
    measured.reduce((sum, collection) => sum + collection.pauseMs, 0).toFixed(1),
    median((collection) => collection.pauseMs).toFixed(2),
    (median((collection) => collection.survivedBytes) / 1e6).toFixed(2),
    (median((collection) => collection.promotedBytes) / 1e6).toFixed(2),
    String(collections.fullCollections),
  ];
  return `| ${cells.join(' | ')} |`;
}

function readOptions(): { dir: string; skip: number } {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        skip: { type: 'string', default: '5' },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    console.error(`gc-summary: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (parsed.values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const skip = Number(parsed.values.skip);
  const dirArgument = parsed.positionals[0];
  if (!dirArgument || parsed.positionals.length > 1 || !Number.isInteger(skip) || skip < 0) {
    console.error(USAGE);
    process.exit(2);
  }

  const dir = path.resolve(REPO_ROOT, dirArgument);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    console.error(`gc-summary: directory not found: ${dir}. Pass the --child-output directory.`);
    process.exit(2);
  }
  return { dir, skip };
}

function main(): void {
  const { dir, skip } = readOptions();
  const files = fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.log'))
    .sort()
    .map((name) => path.join(dir, name));

  const rows: string[] = [];
  let collectionsSeen = 0;
  for (const file of files) {
    const collections = readCollections(file);
    collectionsSeen += collections.young.length;
    const row = formatRow(file, collections, skip);
    if (row) rows.push(row);
    else if (collections.young.length > 0) {
      console.error(
        `${path.basename(file)}: all ${collections.young.length} young collections are within --skip ${skip}`,
      );
    }
  }

  if (rows.length === 0) {
    console.error(
      collectionsSeen === 0
        ? `gc-summary: no --trace-gc-nvp lines in ${dir}. Run the bench with --child-output ` +
            'and --bullpen-node-args=--trace-gc-nvp (and --baseline-node-args=--trace-gc-nvp).'
        : `gc-summary: every process had ${skip} or fewer young collections; lower --skip.`,
    );
    process.exit(1);
  }

  console.log(
    `Young-generation collections after the first ${skip} of each process, and full collections.`,
  );
  console.log(
    '| Process | Young GCs | Total pause (ms) | Median pause (ms) | Median survived (MB) | Median promoted (MB) | Full GCs |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
}

main();
