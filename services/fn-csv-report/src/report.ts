import { UnrecoverableError } from '@bullpen/handler';
import type { ReportRequest } from './request';
import { computeStatistic, percentile, roundTo } from './stats';
import type { Table } from './table';

/**
 * Maximum groups in one report. It keeps results of a few columns well below the
 * dispatcher's default response cap of 1 MiB.
 */
export const MAX_GROUPS = 1000;

export interface GroupSummary {
  /** The group's value in each `groupBy` column; empty when the report has no groups. */
  readonly key: Record<string, string>;
  readonly rows: number;
  /** Per summarised column, each statistic and percentile by name (`mean`, `p90`). */
  readonly columns: Record<string, Record<string, number | null>>;
}

export interface Report {
  readonly file: string;
  readonly rowsRead: number;
  readonly rowsMatched: number;
  readonly groupBy: readonly string[];
  readonly groups: readonly GroupSummary[];
}

type Row = Record<string, string>;

/**
 * Checks that every column the request names exists in the table, so a typo fails the job
 * with the list of real columns instead of producing empty results.
 */
export function assertColumnsExist(table: Table, request: ReportRequest): void {
  const named = [...request.groupBy, ...request.columns, ...Object.keys(request.where)];
  const unknown = named.filter((column) => !table.columns.includes(column));
  if (unknown.length === 0) return;

  const list = unknown.map((column) => `"${column}"`).join(', ');
  throw new UnrecoverableError(
    `Unknown column ${list} in ${table.fileName}. Columns: ${table.columns.join(', ')}.`,
  );
}

/** Keeps the rows whose cells equal every `where` value, compared as text. */
export function filterRows(table: Table, where: ReportRequest['where']): Row[] {
  const conditions = Object.entries(where).map(([column, value]): [string, string] => [
    column,
    String(value),
  ]);
  return table.rows.filter((row) => conditions.every(([column, value]) => row[column] === value));
}

/** Groups rows by their values in the `groupBy` columns, keeping first-seen order. */
export function groupRows(rows: readonly Row[], groupBy: readonly string[]): Map<string, Row[]> {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    // JSON of the value list, because joining with a separator could merge distinct keys.
    const key = JSON.stringify(groupBy.map((column) => row[column] ?? ''));
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  if (groups.size > MAX_GROUPS) {
    throw new UnrecoverableError(
      `Grouping by ${groupBy.join(', ')} gives ${groups.size} groups, more than the ` +
        `${MAX_GROUPS} a report may return. Group by fewer or coarser columns, or filter with "where".`,
    );
  }
  return groups;
}

/** Computes the requested statistics and percentiles of every column in every group. */
export function summarizeGroups(
  table: Table,
  groups: ReadonlyMap<string, Row[]>,
  request: ReportRequest,
): GroupSummary[] {
  const summaries = [...groups.values()].map((rows) => ({
    key: Object.fromEntries(request.groupBy.map((column) => [column, rows[0]?.[column] ?? ''])),
    rows: rows.length,
    columns: Object.fromEntries(
      request.columns.map((column) => [
        column,
        summarizeColumn(numericValues(table, rows, column), request),
      ]),
    ),
  }));
  return summaries.sort((left, right) => compareKeys(left.key, right.key, request.groupBy));
}

function summarizeColumn(values: number[], request: ReportRequest): Record<string, number | null> {
  const sorted = values.sort((left, right) => left - right);
  const summary: Record<string, number | null> = {};
  for (const statistic of request.stats) {
    summary[statistic] = roundTo(computeStatistic(statistic, sorted), request.decimals);
  }
  for (const p of request.percentiles) {
    summary[`p${p}`] = roundTo(percentile(sorted, p), request.decimals);
  }
  return summary;
}

/** Reads a column as numbers. Empty cells are missing values and skipped. */
function numericValues(table: Table, rows: readonly Row[], column: string): number[] {
  const values: number[] = [];
  for (const row of rows) {
    const cell = row[column] ?? '';
    if (cell === '') continue;
    const value = Number(cell);
    if (!Number.isFinite(value)) {
      throw new UnrecoverableError(
        `Column "${column}" of ${table.fileName} is not numeric: it contains "${cell}". ` +
          `Summarise numeric columns only, and group by "${column}" instead.`,
      );
    }
    values.push(value);
  }
  return values;
}

const collator = new Intl.Collator('en', { numeric: true });

function compareKeys(
  left: Record<string, string>,
  right: Record<string, string>,
  groupBy: readonly string[],
): number {
  for (const column of groupBy) {
    const order = collator.compare(left[column] ?? '', right[column] ?? '');
    if (order !== 0) return order;
  }
  return 0;
}
