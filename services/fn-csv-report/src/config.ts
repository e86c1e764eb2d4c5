import { resolveDataDir } from '@bullpen/handler';

export interface CsvReportConfig {
  /** Directory of the CSV files reports may read. */
  readonly dataDir: string;
}

/**
 * Reads the function's configuration. `DATA_DIR` overrides where the CSV files are;
 * by default they are the `data/` directory shipped beside the handler.
 */
export function loadCsvReportConfig(
  env: Readonly<Record<string, string | undefined>>,
  moduleDir: string | undefined,
): CsvReportConfig {
  return { dataDir: resolveDataDir({ moduleDir, configuredDir: env.DATA_DIR }) };
}
