import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// `npm start` and `npm test` call checkNodeVersion first. It runs here in a child process,
// because on an old Node.js it ends the process.

const REPO_ROOT = path.resolve(__dirname, '../..');
const BOOTSTRAP_URL = pathToFileURL(path.join(REPO_ROOT, 'scripts/lib/bootstrap.mjs')).href;
const ENGINES_NODE = (
  JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    engines: { node: string };
  }
).engines.node;

function checkVersion(version: string): { status: number | null; stdout: string; stderr: string } {
  const script =
    `const { checkNodeVersion } = await import(${JSON.stringify(BOOTSTRAP_URL)});` +
    `checkNodeVersion(${JSON.stringify(version)}); console.log('accepted');`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('Node.js version check', () => {
  test('engines field requires 20.12', () => {
    expect(ENGINES_NODE).toBe('>=20.12');
  });

  test.each(['20.12.0', '20.20.2', '22.1.0', '24.0.0'])('accepts %s', (version) => {
    const result = checkVersion(version);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('accepted\n');
    expect(result.status).toBe(0);
  });

  test.each(['20.10.0', '20.11.1', '18.20.4'])('rejects %s with a message', (version) => {
    const result = checkVersion(version);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `Node.js ${version} is too old: Bullpen needs Node.js 20.12 or later.`,
    );
  });
});
