import { parse } from 'csv-parse/sync';
import { UnrecoverableError } from '@bullpen/handler';

/** A parsed CSV file: the header and one record per data row, keyed by column name. */
export interface Table {
  readonly fileName: string;
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, string>[];
}

/** Parses CSV text whose first line is the header. */
export function parseCsv(fileName: string, text: string): Table {
  let columns: string[] = [];
  let rows: Record<string, string>[];
  try {
    rows = parse(text, {
      bom: true,
      trim: true,
      skip_empty_lines: true,
      columns: (header: string[]) => {
        columns = header;
        return header;
      },
    }) as Record<string, string>[];
  } catch (error) {
    throw new UnrecoverableError(
      `${fileName} is not valid CSV: ${(error as Error).message}. Fix the file and add the job again.`,
      { cause: error },
    );
  }
  return { fileName, columns, rows };
}
