// Prints the scavenges (young-generation collections) of every process whose output a bench
// run saved with --child-output and --trace-gc-nvp, with pauses and bytes promoted.
// Usage: pnpm --filter @bullpen/bench gc-summary <dir> [--skip 5]
// `--skip` leaves out each process's first scavenges, which happen while modules load.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { summarize } from './support/stats';

/** The fields of one --trace-gc-nvp line that the summary reads. */
interface Scavenge {
  readonly pauseMs: number;
  readonly survivedBytes: number;
  readonly promotedBytes: number;
}

interface ProcessSummary {
  readonly file: string;
  readonly scavenges: number;
  readonly totalPauseMs: number;
  readonly fullCollections: number;
  readonly medianPauseMs: number;
  readonly medianSurvivedBytes: number;
  readonly medianPromotedBytes: number;
}

/** Reads `name=value` pairs from one --trace-gc-nvp line. */
function readFields(line: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const match of line.matchAll(/(\S+)=(\S+)/g)) fields.set(match[1]!, match[2]!);
  return fields;
}

function numberField(fields: Map<string, string>, name: string): number {
  const value = Number(fields.get(name));
  return Number.isFinite(value) ? value : 0;
}

function summarizeFile(file: string, skip: number): ProcessSummary | undefined {
  const scavenges: Scavenge[] = [];
  let fullCollections = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const fields = readFields(line);
    const kind = fields.get('gc');
    if (kind === 'mc' || kind === 'mmc') fullCollections += 1;
    if (kind !== 's') continue;
    scavenges.push({
      pauseMs: numberField(fields, 'pause'),
      survivedBytes: numberField(fields, 'new_space_survived'),
      promotedBytes: numberField(fields, 'promoted'),
    });
  }
  const measured = scavenges.slice(skip);
  if (measured.length === 0) return undefined;

  return {
    file: path.basename(file),
    scavenges: scavenges.length,
    totalPauseMs: scavenges.reduce((sum, scavenge) => sum + scavenge.pauseMs, 0),
    fullCollections,
    medianPauseMs: summarize(measured.map((scavenge) => scavenge.pauseMs)).median,
    medianSurvivedBytes: summarize(measured.map((scavenge) => scavenge.survivedBytes)).median,
    medianPromotedBytes: summarize(measured.map((scavenge) => scavenge.promotedBytes)).median,
  };
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { skip: { type: 'string', default: '5' } },
  });
  const skip = Number(values.skip);
  if (!positionals[0] || !Number.isInteger(skip) || skip < 0) {
    console.error('Usage: pnpm --filter @bullpen/bench gc-summary <dir> [--skip 5]');
    process.exit(2);
  }
  // pnpm runs the script in bench/, and INIT_CWD is the folder the command was typed in.
  const dir = path.resolve(process.env.INIT_CWD ?? process.cwd(), positionals[0]);
  if (!fs.existsSync(dir)) {
    console.error(`gc-summary: directory not found: ${dir}. Pass the --child-output directory.`);
    process.exit(2);
  }

  const files = fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.log'))
    .sort();
  const summaries = files
    .map((name) => summarizeFile(path.join(dir, name), skip))
    .filter((summary): summary is ProcessSummary => summary !== undefined);
  if (summaries.length === 0) {
    console.error(
      `No scavenge lines in ${dir}. Run the bench with --child-output ${dir} and ` +
        '--bullpen-node-args=--trace-gc-nvp (and --baseline-node-args=--trace-gc-nvp).',
    );
    process.exit(1);
  }

  console.log(
    '| Process | Scavenges | Total pause (ms) | Full GCs | Median pause (ms) | Median survived (MB) | Median promoted (MB) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const summary of summaries) {
    const cells = [
      summary.file,
      String(summary.scavenges),
      summary.totalPauseMs.toFixed(1),
      String(summary.fullCollections),
      summary.medianPauseMs.toFixed(2),
      (summary.medianSurvivedBytes / 1e6).toFixed(2),
      (summary.medianPromotedBytes / 1e6).toFixed(2),
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
}

main();
