// Makes a fresh clone runnable with nothing but Node.js: finds or fetches pnpm, then installs
// the workspace when node_modules is missing or older than the lock file.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const packageJson = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
const PNPM_VERSION = packageJson.packageManager.split('@')[1];

/** Returns whether `version` (such as "20.10.0") is older than `minimum` (such as "20.12"). */
function isOlder(version, minimum) {
  const actual = version.split('.').map(Number);
  const required = minimum.split('.').map(Number);
  for (let index = 0; index < required.length; index += 1) {
    const part = actual[index] ?? 0;
    if (part !== required[index]) return part < required[index];
  }
  return false;
}

/**
 * Exits with code 1 and a message when `version` is older than the `>=` minimum in
 * package.json's engines field. The API calls `crypto.hash`, which older releases lack.
 */
export function checkNodeVersion(version = process.versions.node) {
  const minimum = /^>=\s*(\d+(?:\.\d+)*)$/.exec(packageJson.engines.node.trim())?.[1];
  if (minimum === undefined || !isOlder(version, minimum)) return;
  console.error(
    `Node.js ${version} is too old: Bullpen needs Node.js ${minimum} or later. ` +
      'Install a newer Node.js and run the command again.',
  );
  process.exit(1);
}

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
  checkNodeVersion();
  if (isInstalled()) return;
  console.log('Installing dependencies with pnpm (first run only)...');
  const status = runPnpm(['install', '--frozen-lockfile']);
  if (status !== 0) {
    console.error('pnpm install failed; see the output above.');
    process.exit(status);
  }
}
