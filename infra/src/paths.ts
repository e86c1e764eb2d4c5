import path from 'node:path';

/** Root of the Bullpen repository: the Docker build context and the functions' project root. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
