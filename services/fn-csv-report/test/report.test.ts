import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UnrecoverableError, type HandlerJob, type JobContext } from '@bullpen/handler';
import { loadCsvReportConfig } from '../src/config';
import { runCsvReport } from '../src/csv-report';
import { listCsvFiles, readCsvFile } from '../src/data-files';
import { MAX_GROUPS, type Report } from '../src/report';
import { reportRequestSchema, type ReportRequest } from '../src/request';
import { parseCsv } from '../src/table';

const DATA_DIR = path.resolve(__dirname, '..', 'data');
const config = { dataDir: DATA_DIR };

interface RecordedContext {
  ctx: JobContext;
  progress: unknown[];
  logs: string[];
}

/** A job context that records progress and log lines instead of sending them to an API. */
function recordingContext(): RecordedContext {
  const progress: unknown[] = [];
  const logs: string[] = [];
  const ctx: JobContext = {
    queue: 'csv-report',
    attempt: 1,
    maxAttempts: 1,
    source: 'invoke',
    signal: new AbortController().signal,
    lambdaContext: undefined,
    remainingTimeMs: () => Number.POSITIVE_INFINITY,
    progress: async (value) => {
      progress.push(value);
    },
    log: async (line) => {
      logs.push(line);
    },
  };
  return { ctx, progress, logs };
}

function job(data: unknown): HandlerJob<ReportRequest> {
  return {
    id: '1',
    name: 'report',
    data: reportRequestSchema.parse(data),
    opts: {},
    progress: 0,
    returnvalue: null,
    stacktrace: [],
    attemptsMade: 0,
    attemptsStarted: 1,
    delay: 0,
    timestamp: 0,
    queueQualifiedName: 'bull:csv-report',
  };
}

function readWeatherRows(): Record<string, string>[] {
  const text = fs.readFileSync(path.join(DATA_DIR, 'city-weather-monthly.csv'), 'utf8');
  const [header, ...lines] = text.trim().split('\n');
  const columns = header!.split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(columns.map((column, index) => [column, cells[index] ?? '']));
  });
}

describe('shipped data files', () => {
  test('list both data sets', async () => {
    expect(await listCsvFiles(DATA_DIR)).toEqual([
      'city-weather-monthly.csv',
      'store-sales-2024.csv',
    ]);
  });

  test('hold a few hundred rows each', async () => {
    for (const file of await listCsvFiles(DATA_DIR)) {
      const table = parseCsv(file, await readCsvFile(DATA_DIR, file));
      expect(table.rows.length).toBeGreaterThanOrEqual(200);
      expect(table.rows.length).toBeLessThanOrEqual(1000);
    }
  });

  test('are found from the source directory', () => {
    expect(loadCsvReportConfig({}, path.resolve(__dirname, '..', 'src')).dataDir).toBe(DATA_DIR);
  });

  test('are found beside a bundled handler', () => {
    const bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'csv-report-bundle-'));
    fs.mkdirSync(path.join(bundleDir, 'data'));

    expect(loadCsvReportConfig({}, bundleDir).dataDir).toBe(path.join(bundleDir, 'data'));

    fs.rmSync(bundleDir, { recursive: true });
  });

  test('come from DATA_DIR when set', () => {
    expect(loadCsvReportConfig({ DATA_DIR }, undefined).dataDir).toBe(DATA_DIR);
    expect(() => loadCsvReportConfig({ DATA_DIR: '/nonexistent/data' }, undefined)).toThrow(
      /nonexistent/,
    );
  });
});

describe('runCsvReport', () => {
  test('groups weather by city with means matching a direct computation', async () => {
    const { ctx } = recordingContext();

    const report = await runCsvReport(
      job({
        file: 'city-weather-monthly.csv',
        groupBy: 'city',
        columns: ['mean_temp_c', 'precipitation_mm'],
        stats: ['count', 'mean', 'min', 'max'],
        decimals: 6,
      }),
      ctx,
      config,
    );

    const rows = readWeatherRows();
    const cities = [...new Set(rows.map((row) => row.city))];
    expect(report.rowsRead).toBe(rows.length);
    expect(report.groups.map((group) => group.key.city)).toEqual([...cities].sort());
    for (const group of report.groups) {
      const cityRows = rows.filter((row) => row.city === group.key.city);
      const temperatures = cityRows.map((row) => Number(row.mean_temp_c));
      const expectedMean = temperatures.reduce((a, b) => a + b, 0) / temperatures.length;
      expect(group.rows).toBe(cityRows.length);
      expect(group.columns.mean_temp_c!.count).toBe(cityRows.length);
      expect(group.columns.mean_temp_c!.mean).toBeCloseTo(expectedMean, 5);
      expect(group.columns.mean_temp_c!.min).toBe(Math.min(...temperatures));
      expect(group.columns.mean_temp_c!.max).toBe(Math.max(...temperatures));
    }
  });

  test('filters with where and reports percentiles in order', async () => {
    const { ctx } = recordingContext();

    const report = await runCsvReport(
      job({
        file: 'store-sales-2024.csv',
        groupBy: ['region', 'category'],
        columns: ['revenue_eur'],
        stats: ['sum', 'median'],
        percentiles: [10, 50, 90],
        where: { region: 'South' },
      }),
      ctx,
      config,
    );

    expect(report.rowsMatched).toBeLessThan(report.rowsRead);
    expect(report.groups.length).toBeGreaterThan(0);
    for (const group of report.groups) {
      const revenue = group.columns.revenue_eur!;
      expect(group.key.region).toBe('South');
      expect(revenue.p50).toBe(revenue.median);
      expect(revenue.p10!).toBeLessThanOrEqual(revenue.p50!);
      expect(revenue.p50!).toBeLessThanOrEqual(revenue.p90!);
    }
    const groupRows = report.groups.reduce((total, group) => total + group.rows, 0);
    expect(groupRows).toBe(report.rowsMatched);
  });

  test('summarises all rows as one group without groupBy', async () => {
    const { ctx } = recordingContext();

    const report: Report = await runCsvReport(
      job({ file: 'store-sales-2024.csv', columns: ['units'], stats: ['count'] }),
      ctx,
      config,
    );

    expect(report.groups).toHaveLength(1);
    expect(report.groups[0]!.key).toEqual({});
    expect(report.groups[0]!.columns.units!.count).toBe(report.rowsRead);
  });

  test('reports progress and log lines for each step', async () => {
    const { ctx, progress, logs } = recordingContext();

    await runCsvReport(
      job({ file: 'city-weather-monthly.csv', groupBy: 'year', columns: ['rainy_days'] }),
      ctx,
      config,
    );

    expect(progress).toEqual([25, 50, 100]);
    expect(logs).toHaveLength(3);
    expect(logs[0]).toMatch(/^Read \d+ rows with 10 columns from city-weather-monthly\.csv$/);
    expect(logs[1]).toContain('3 groups by year');
  });

  test('rejects an unknown file as unrecoverable', async () => {
    const { ctx } = recordingContext();

    const failure = await runCsvReport(
      job({ file: 'missing.csv', columns: ['units'] }),
      ctx,
      config,
    ).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(UnrecoverableError);
    expect((failure as Error).message).toContain('Unknown file "missing.csv"');
    expect((failure as Error).message).toContain('store-sales-2024.csv');
  });

  test('rejects paths outside the data directory', async () => {
    const { ctx } = recordingContext();

    for (const file of ['../package.json', '/etc/passwd', 'data/../store-sales-2024.csv']) {
      await expect(runCsvReport(job({ file, columns: ['units'] }), ctx, config)).rejects.toThrow(
        UnrecoverableError,
      );
    }
  });

  test('rejects an unknown column as unrecoverable', async () => {
    const { ctx, progress } = recordingContext();

    const failure = await runCsvReport(
      job({ file: 'store-sales-2024.csv', groupBy: 'shop', columns: ['units', 'profit'] }),
      ctx,
      config,
    ).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(UnrecoverableError);
    expect((failure as Error).message).toContain('Unknown column "shop", "profit"');
    expect((failure as Error).message).toContain('revenue_eur');
    expect(progress).toEqual([]);
  });

  test('rejects a text column as a summary column', async () => {
    const { ctx } = recordingContext();

    await expect(
      runCsvReport(job({ file: 'store-sales-2024.csv', columns: ['store'] }), ctx, config),
    ).rejects.toThrow(/Column "store" of store-sales-2024.csv is not numeric/);
  });

  test('rejects more groups than a report may return', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'csv-report-groups-'));
    const lines = Array.from({ length: MAX_GROUPS + 1 }, (_, index) => `id-${index},1`);
    fs.writeFileSync(path.join(dataDir, 'wide.csv'), `id,value\n${lines.join('\n')}\n`);
    const { ctx } = recordingContext();

    await expect(
      runCsvReport(job({ file: 'wide.csv', groupBy: 'id', columns: ['value'] }), ctx, { dataDir }),
    ).rejects.toThrow(`${MAX_GROUPS + 1} groups`);

    fs.rmSync(dataDir, { recursive: true });
  });

  test('skips empty cells as missing values', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'csv-report-missing-'));
    fs.writeFileSync(path.join(dataDir, 'gaps.csv'), 'name,value\na,1\n"b, c",\nd,5\n');
    const { ctx } = recordingContext();

    const report = await runCsvReport(
      job({ file: 'gaps.csv', columns: ['value'], stats: ['count', 'mean'] }),
      ctx,
      { dataDir },
    );

    expect(report.rowsRead).toBe(3);
    expect(report.groups[0]!.columns.value).toEqual({ count: 2, mean: 3 });
    fs.rmSync(dataDir, { recursive: true });
  });
});

describe('reportRequestSchema', () => {
  test('fills the default statistics', () => {
    const request = reportRequestSchema.parse({ file: 'a.csv', columns: ['x'] });

    expect(request.stats).toEqual(['count', 'sum', 'mean', 'min', 'max']);
    expect(request.groupBy).toEqual([]);
    expect(request.percentiles).toEqual([]);
  });

  test('rejects percentiles outside 0 to 100', () => {
    const result = reportRequestSchema.safeParse({
      file: 'a.csv',
      columns: ['x'],
      percentiles: [101],
    });

    expect(result.success).toBe(false);
  });

  test('rejects unknown statistics', () => {
    expect(
      reportRequestSchema.safeParse({ file: 'a.csv', columns: ['x'], stats: ['mode'] }).success,
    ).toBe(false);
  });
});
