import fs from 'node:fs';
import path from 'node:path';
import { UnrecoverableError } from '@bullpen/handler';

/** Lists the text files a job may read, sorted by name. */
export async function listTextFiles(dataDir: string): Promise<string[]> {
  const entries = await fs.promises.readdir(dataDir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.txt'))
    .map((entry) => entry.name)
    .sort();
}

/**
 * Reads a data file by its exact name. Only names listed in the directory are opened, so a
 * request cannot reach other files with `..` or an absolute path.
 */
export async function readTextFile(dataDir: string, fileName: string): Promise<string> {
  const available = await listTextFiles(dataDir);
  if (!available.includes(fileName)) {
    throw new UnrecoverableError(
      `Unknown file "${fileName}". Available files: ${available.join(', ') || 'none'}.`,
    );
  }
  return fs.promises.readFile(path.join(dataDir, fileName), 'utf8');
}
