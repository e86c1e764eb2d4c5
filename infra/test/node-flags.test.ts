import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ChildService } from '../../scripts/lib/child-service';

/** Shape of scripts/lib/service-node-flags.cjs. */
interface ServiceNodeFlagsModule {
  SERVICES: readonly string[];
  nodeFlagsFile(service: string): string;
  readNodeFlagsFile(file: string): string[];
  readServiceNodeFlags(service: string): string[];
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const flagsModule = require('../../scripts/lib/service-node-flags.cjs') as ServiceNodeFlagsModule;
const { SERVICES, nodeFlagsFile, readNodeFlagsFile, readServiceNodeFlags } = flagsModule;

const REPO_ROOT = path.join(__dirname, '..', '..');
const ENTRYPOINT = path.join(REPO_ROOT, 'infra', 'docker', 'entrypoint.sh');

describe('service Node.js flags', () => {
  let workDir: string;

  beforeEach(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bullpen-node-flags-'));
  });

  afterEach(() => {
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('reads the flags without comments', () => {
    const custom = path.join(workDir, 'custom.node-flags');
    fs.writeFileSync(custom, '# a comment\n\n  --one=1  \n   # indented comment\n--two\n');

    expect(readNodeFlagsFile(custom)).toEqual(['--one=1', '--two']);
  });

  test('each service sets its young generation size', () => {
    expect(readServiceNodeFlags('api')).toContain('--max-semi-space-size=64');
    expect(readServiceNodeFlags('dispatcher')).toContain('--max-semi-space-size=32');
  });

  test('rejects an unknown service', () => {
    expect(() => readServiceNodeFlags('worker')).toThrow(
      'Unknown service "worker": use one of api, dispatcher',
    );
  });

  test.each(['api', 'dispatcher'])('node accepts every %s flag', (service) => {
    const flags = readServiceNodeFlags(service);
    expect(flags.every((flag) => flag.startsWith('--') && !/\s/.test(flag))).toBe(true);

    const result = spawnSync(process.execPath, [...flags, '-e', 'process.stdout.write("ok")'], {
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('ok');
  });

  /** Creates an app directory and a stand-in for node that prints each argument on a line. */
  function fakeContainer(): { binDir: string; appDir: string } {
    const binDir = path.join(workDir, 'bin');
    const appDir = path.join(workDir, 'app');
    fs.mkdirSync(binDir);
    fs.mkdirSync(appDir);
    const fakeNode = path.join(binDir, 'node');
    fs.writeFileSync(fakeNode, '#!/bin/sh\nfor arg in "$@"; do echo "$arg"; done\n');
    fs.chmodSync(fakeNode, 0o755);
    return { binDir, appDir };
  }

  function runEntrypoint(binDir: string, appDir: string, args: string[]) {
    return spawnSync('sh', [ENTRYPOINT, ...args], {
      encoding: 'utf8',
      env: { PATH: `${binDir}:${process.env.PATH}`, BULLPEN_APP_DIR: appDir },
    });
  }

  test.each(['api', 'dispatcher'])('entrypoint passes the %s flags to node', (service) => {
    const { binDir, appDir } = fakeContainer();
    for (const name of SERVICES) {
      fs.copyFileSync(nodeFlagsFile(name), path.join(appDir, `${name}.node-flags`));
    }

    const result = runEntrypoint(binDir, appDir, [service, '--extra']);

    expect(result.status).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([
      '--enable-source-maps',
      ...readServiceNodeFlags(service),
      path.join(appDir, `${service}.js`),
      '--extra',
    ]);
  });

  test('entrypoint reads CRLF lines and keeps globs', () => {
    const { binDir, appDir } = fakeContainer();
    fs.writeFileSync(path.join(appDir, 'api.node-flags'), '# comment\r\n--one=1\r\n--two-*\r\n');
    // A file the glob `--two-*` would match if the shell expanded it.
    fs.writeFileSync(path.join(workDir, '--two-match'), '');

    const result = spawnSync('sh', [ENTRYPOINT, 'api'], {
      encoding: 'utf8',
      cwd: workDir,
      env: { PATH: `${binDir}:${process.env.PATH}`, BULLPEN_APP_DIR: appDir },
    });

    expect(result.status).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([
      '--enable-source-maps',
      '--one=1',
      '--two-*',
      path.join(appDir, 'api.js'),
    ]);
  });

  test('entrypoint fails without a flags file', () => {
    const { binDir, appDir } = fakeContainer();

    const result = runEntrypoint(binDir, appDir, ['dispatcher']);

    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('dispatcher.node-flags');
    expect(result.stdout).toBe('');
  });

  test('image copies both flags files', () => {
    const dockerfile = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');

    expect(dockerfile).toMatch(
      /^COPY infra\/docker\/api\.node-flags infra\/docker\/dispatcher\.node-flags \/app\/$/m,
    );
  });

  test('child service gets the given flags', async () => {
    const entry = path.join(workDir, 'print-flags.ts');
    fs.writeFileSync(entry, 'process.stdout.write(JSON.stringify(process.execArgv));\n');
    const logFile = path.join(workDir, 'service.log');

    const service = ChildService.start({
      name: 'print-flags',
      entry,
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH },
      logFile,
      nodeFlags: readServiceNodeFlags('dispatcher'),
    });
    const exit = await service.exited;

    expect(exit).toEqual({ code: 0, signal: null });
    const execArgv = JSON.parse(fs.readFileSync(logFile, 'utf8')) as string[];
    expect(execArgv.slice(0, 1)).toEqual(['--max-semi-space-size=32']);
  });
});
