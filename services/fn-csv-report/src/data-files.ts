import fs from 'node:fs';
import path from 'node:path';
import { UnrecoverableError } from '@bullpen/handler';

/** Lists the CSV files a report may read, sorted by name. */
export async function listCsvFiles(dataDir: string): Promise<string[]> {
  const entries = await fs.promises.readdir(dataDir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.csv'))
    .map((entry) => entry.name)
    .sort();
}

/**
 * Reads a data file by its exact name. Only names listed in the directory are opened, so a
 * request cannot reach other files with `..` or an absolute path.
 */
export async function readCsvFile(dataDir: string, fileName: string): Promise<string> {
  const available = await listCsvFiles(dataDir);
  if (!available.includes(fileName)) {
    throw new UnrecoverableError(
      `Unknown file "${fileName}". Available files: ${available.join(', ') || 'none'}.`,
    );
  }
  return fs.promises.readFile(path.join(dataDir, fileName), 'utf8');
}
