import { summarize, type RunSummary } from './stats';

/** One measured figure of a path: Bullpen's value, the baseline's, and the target. */
export interface ResultRow {
  readonly measure: string;
  readonly unit: string;
  readonly bullpen: RunSummary;
  /** The hand-written or direct BullMQ equivalent, when the path has one. */
  readonly baseline?: RunSummary;
  /** Name of the baseline in the table. */
  readonly baselineLabel?: string;
  /**
   * Median of the per-run ratios Bullpen / baseline. Both were measured in the same run,
   * minutes apart at most, so the ratio drifts less with the machine's load than either
   * figure does.
   */
  readonly ratio?: number;
  /** The target in words, or an empty string when the figure has none. */
  readonly target: string;
  /** Whether the median meets the target; undefined when there is no target. */
  readonly met?: boolean;
}

/** The result of one benchmark path. */
export interface PathReport {
  readonly id: string;
  readonly title: string;
  /** Every setting of the path, one per line. */
  readonly settings: readonly string[];
  readonly rows: readonly ResultRow[];
  /** Remarks found while running, such as a size that could not be measured. */
  readonly notes: readonly string[];
  /** Why the path stopped without results, when it did. */
  readonly failure?: string;
}

/** Builds the report of a path that stopped with `error`. */
export function failedReport(id: string, error: unknown): PathReport {
  const message = error instanceof Error ? error.message : String(error);
  return { id, title: id, settings: [], rows: [], notes: [], failure: message };
}

/** Builds a row that compares Bullpen with a baseline and checks a minimum ratio. */
export function ratioRow(
  measure: string,
  unit: string,
  bullpen: RunSummary,
  baseline: { readonly label: string; readonly summary: RunSummary },
  minimumRatio: number | undefined,
): ResultRow {
  const ratio = summarize(
    bullpen.runs.map((value, run) => value / (baseline.summary.runs[run] ?? Number.NaN)),
  ).median;
  return {
    measure,
    unit,
    bullpen,
    baseline: baseline.summary,
    baselineLabel: baseline.label,
    ratio,
    target: minimumRatio === undefined ? '' : `ratio ≥ ${minimumRatio}`,
    met: minimumRatio === undefined ? undefined : ratio >= minimumRatio,
  };
}

/** Builds a row whose median must stay below `maximum`, or a plain row when it is undefined. */
export function limitRow(
  measure: string,
  unit: string,
  bullpen: RunSummary,
  maximum: number | undefined,
  strict: boolean,
): ResultRow {
  const row: ResultRow = { measure, unit, bullpen, target: '' };
  return maximum === undefined ? row : withMaximum(row, maximum, strict);
}

/** Sets a row's target: Bullpen's median must stay below `maximum` (or at it, unless strict). */
export function withMaximum(row: ResultRow, maximum: number, strict: boolean): ResultRow {
  const median = row.bullpen.median;
  return {
    ...row,
    target: `${strict ? '<' : '≤'} ${maximum} ${row.unit}`,
    met: strict ? median < maximum : median <= maximum,
  };
}

/** Formats a figure with about three significant digits. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

function formatSummary(summary: RunSummary | undefined): string {
  if (!summary) return '';
  return `${formatNumber(summary.median)} (${formatNumber(summary.min)}–${formatNumber(summary.max)})`;
}

function formatMet(met: boolean | undefined): string {
  if (met === undefined) return '';
  return met ? 'yes' : 'NO';
}

/** Renders the rows of every path as one Markdown table. */
export function renderTable(reports: readonly PathReport[]): string {
  const header = [
    'Path',
    'Measure',
    'Bullpen: median (min–max)',
    'Baseline: median (min–max)',
    'Ratio',
    'Target',
    'Met',
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`];
  for (const report of reports) {
    if (report.failure !== undefined) {
      lines.push(`| ${report.title} | failed, see below |  |  |  |  | NO |`);
    }
    for (const row of report.rows) {
      const baseline = row.baseline ? `${formatSummary(row.baseline)} ${row.baselineLabel}` : '';
      const cells = [
        report.title,
        `${row.measure} (${row.unit})`,
        formatSummary(row.bullpen),
        baseline,
        row.ratio === undefined ? '' : row.ratio.toFixed(2),
        row.target,
        formatMet(row.met),
      ];
      lines.push(`| ${cells.join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

/** Renders the settings and notes of every path as Markdown lists. */
export function renderSettings(reports: readonly PathReport[]): string {
  const sections = reports.map((report) => {
    const failure =
      report.failure === undefined
        ? ''
        : `Failed:\n\n\`\`\`text\n${report.failure.slice(0, 4000)}\n\`\`\``;
    const settings = report.settings.map((line) => `- ${line}`).join('\n');
    const notes = report.notes.map((line) => `- Note: ${line}`).join('\n');
    const runs = report.rows
      .map((row) => {
        const against = row.baseline ? ` against ${row.baselineLabel}` : '';
        const baseline = row.baseline
          ? `; baseline ${row.baseline.runs.map(formatNumber).join(', ')}`
          : '';
        const bullpen = row.bullpen.runs.map(formatNumber).join(', ');
        return `- Runs of "${row.measure}"${against}: Bullpen ${bullpen}${baseline}`;
      })
      .join('\n');
    const lists = [settings, notes, runs].filter(Boolean).join('\n');
    return [`### ${report.title}`, failure, lists].filter(Boolean).join('\n\n');
  });
  return sections.join('\n\n');
}
