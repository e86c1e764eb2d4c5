// Makes a fresh clone runnable with nothing but Node.js: finds or fetches pnpm, then installs
// the workspace when node_modules is missing or older than the lock file.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const PNPM_VERSION = JSON.parse(
  fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'),
).packageManager.split('@')[1];

function hasMatchingPnpm() {
  const result = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.trim().split('.')[0] === PNPM_VERSION.split('.')[0];
}

/** Returns the command prefix that runs pnpm: a local pnpm 10, else npx with the pinned version. */
export function pnpmCommand() {
  if (hasMatchingPnpm()) return ['pnpm'];
  return ['npx', '--yes', `pnpm@${PNPM_VERSION}`];
}

export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: repoRoot, ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

export function runPnpm(args, options = {}) {
  const [command, ...prefix] = pnpmCommand();
  return run(command, [...prefix, ...args], options);
}

function isInstalled() {
  const marker = path.join(repoRoot, 'node_modules', '.modules.yaml');
  const lock = path.join(repoRoot, 'pnpm-lock.yaml');
  if (!fs.existsSync(marker)) return false;
  return fs.statSync(marker).mtimeMs >= fs.statSync(lock).mtimeMs;
}

/** Installs dependencies from the lock file when they are missing or stale. */
export function ensureDependencies() {
  if (isInstalled()) return;
  console.log('Installing dependencies with pnpm (first run only)...');
  const status = runPnpm(['install', '--frozen-lockfile']);
  if (status !== 0) {
    console.error('pnpm install failed; see the output above.');
    process.exit(status);
  }
}
