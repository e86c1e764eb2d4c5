import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './child-process';

/** The machine and software a run measured, for the report. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly bullmq: string;
  readonly redis: string;
  /** Load averages over 1, 5 and 15 minutes when the run started. */
  readonly loadAtStart: readonly number[];
}

/** Reads the machine's description; `redisVersion` comes from the Redis in use. */
export function describeMachine(redisVersion: string): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: os.totalmem() / 1024 ** 3,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    bullmq: packageVersion('bullmq'),
    redis: redisVersion,
    loadAtStart: os.loadavg(),
  };
}

function packageVersion(name: string): string {
  const manifest = path.join(REPO_ROOT, 'bench', 'node_modules', name, 'package.json');
  return (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string }).version;
}
