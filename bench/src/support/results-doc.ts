import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './child-process';
import type { MachineInfo } from './machine';
import { renderSettings, renderTable, type PathReport } from './report';

export const RESULTS_DOC = path.join(REPO_ROOT, 'docs', 'benchmarks.md');
const START_MARKER = '<!-- results:start (written by pnpm bench) -->';
const END_MARKER = '<!-- results:end -->';

export interface RunDescription {
  readonly machine: MachineInfo;
  readonly runs: number;
  readonly redisIsPrivate: boolean;
  /** Node.js flags that the services ship with, by service. */
  readonly shippedNodeArgs: Readonly<Record<'api' | 'dispatcher', readonly string[]>>;
  /** Extra Node.js flags of Bullpen's processes from --bullpen-node-args. */
  readonly bullpenExtraArgs: readonly string[];
  /** Node.js flags of the hand-written baselines. */
  readonly baselineNodeArgs: readonly string[];
  readonly startedAt: Date;
  readonly durationS: number;
  /** Load averages over 1, 5 and 15 minutes when the last path finished. */
  readonly loadAtEnd: readonly number[];
}

/** Renders the machine, the table and every path's settings as Markdown. */
export function renderResults(run: RunDescription, reports: readonly PathReport[]): string {
  const { machine } = run;
  const load = (values: readonly number[]) => values.map((value) => value.toFixed(2)).join(', ');
  return [
    `Measured ${run.startedAt.toISOString()} in ${Math.round(run.durationS)} s, ${run.runs} runs per figure.`,
    '',
    `- CPU: ${machine.cpuModel}, ${machine.cores} cores; memory ${machine.memoryGiB.toFixed(1)} GiB; ${machine.os}`,
    `- Node.js ${machine.node}, BullMQ ${machine.bullmq}, Redis ${machine.redis} (${run.redisIsPrivate ? 'private redis-server started by the bench' : 'REDIS_URL, shared'})`,
    `- Load average (1, 5, 15 min): ${load(machine.loadAtStart)} at the start, ${load(run.loadAtEnd)} at the end`,
    `- Node.js flags the Bullpen API ships with: ${describeFlags(run.shippedNodeArgs.api)}; the dispatcher: ${describeFlags(run.shippedNodeArgs.dispatcher)} (infra/docker/<service>.node-flags)`,
    `- Extra Node.js flags of the Bullpen processes (--bullpen-node-args): ${describeFlags(run.bullpenExtraArgs)}`,
    `- Node.js flags of the hand-written baselines: ${describeFlags(run.baselineNodeArgs)}`,
    '',
    renderTable(reports),
    '',
    ...(reports.some((report) => report.rows.some((row) => row.ratio !== undefined))
      ? [
          'Ratio: the median of the per-run ratios Bullpen / baseline; each run measures both back to back.',
          '',
        ]
      : []),
    '## Settings and runs',
    '',
    renderSettings(reports),
  ].join('\n');
}

function describeFlags(flags: readonly string[]): string {
  return flags.length === 0 ? 'none' : flags.map((flag) => `\`${flag}\``).join(' ');
}

/**
 * Replaces the generated block of the results document, keeping the text around it, or
 * creates the document when it does not exist yet.
 */
export function writeResults(markdown: string): void {
  const block = `${START_MARKER}\n\n${markdown}\n\n${END_MARKER}`;
  const current = fs.existsSync(RESULTS_DOC) ? fs.readFileSync(RESULTS_DOC, 'utf8') : undefined;
  const start = current?.indexOf(START_MARKER) ?? -1;
  const end = current?.indexOf(END_MARKER) ?? -1;

  let next: string;
  if (current !== undefined && start !== -1 && end > start) {
    next = current.slice(0, start) + block + current.slice(end + END_MARKER.length);
  } else {
    next = `# Benchmarks\n\n## Results\n\n${block}\n`;
  }
  fs.mkdirSync(path.dirname(RESULTS_DOC), { recursive: true });
  fs.writeFileSync(RESULTS_DOC, next);
}
