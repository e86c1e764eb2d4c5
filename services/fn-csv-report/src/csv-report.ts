import type { HandlerJob, JobContext } from '@bullpen/handler';
import type { CsvReportConfig } from './config';
import { readCsvFile } from './data-files';
import { assertColumnsExist, filterRows, groupRows, summarizeGroups, type Report } from './report';
import type { ReportRequest } from './request';
import { parseCsv } from './table';

/**
 * Builds the report a job requests, sending progress after each step and a log line that
 * says what the step found.
 */
export async function runCsvReport(
  job: HandlerJob<ReportRequest>,
  ctx: JobContext,
  config: CsvReportConfig,
): Promise<Report> {
  const request = job.data;

  const table = parseCsv(request.file, await readCsvFile(config.dataDir, request.file));
  assertColumnsExist(table, request);
  await ctx.log(
    `Read ${table.rows.length} rows with ${table.columns.length} columns from ${table.fileName}`,
  );
  await ctx.progress(25);

  const rows = filterRows(table, request.where);
  const groups = groupRows(rows, request.groupBy);
  await ctx.log(`${rows.length} rows matched; ${describeGrouping(groups.size, request.groupBy)}`);
  await ctx.progress(50);

  const summaries = summarizeGroups(table, groups, request);
  const measures = request.stats.length + request.percentiles.length;
  const noun = measures === 1 ? 'measure' : 'measures';
  await ctx.log(`Computed ${measures} ${noun} of ${request.columns.join(', ')} per group`);
  await ctx.progress(100);

  return {
    file: table.fileName,
    rowsRead: table.rows.length,
    rowsMatched: rows.length,
    groupBy: request.groupBy,
    groups: summaries,
  };
}

function describeGrouping(groupCount: number, groupBy: readonly string[]): string {
  if (groupBy.length === 0) return 'summarising them as one group';
  return `${groupCount} groups by ${groupBy.join(', ')}`;
}
