import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/** Reads the user plus system CPU time of a process so far, in milliseconds, from Linux /proc. */
export function readCpuMs(pid: number, clockTicksPerSecond: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name in field 2 may contain spaces, so fields are counted after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / clockTicksPerSecond;
}

/**
 * Reads the CPU time so far, in ms, of the Redis server the bench started, or NaN when
 * `redisPid` is undefined because REDIS_URL names a shared Redis.
 */
export function readRedisCpuMs(redisPid: number | undefined, clockTicksPerSecond: number): number {
  return redisPid === undefined ? Number.NaN : readCpuMs(redisPid, clockTicksPerSecond);
}

/** Reads the user plus system CPU time of this process, all its threads included, in ms. */
export function readOwnCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Reads the peak resident set size (VmHWM) of a process in MiB from Linux /proc. */
export function readPeakRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kilobytes = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
  return kilobytes / 1024;
}

/** Reads the resident set size of a process in MiB from Linux /proc. */
export function readRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kilobytes = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return kilobytes / 1024;
}

/** Reads the kernel's clock tick rate, the unit of CPU times in /proc. */
export function readClockTicksPerSecond(): number {
  const result = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(result.stdout.trim());
  if (!Number.isInteger(ticks) || ticks <= 0) {
    throw new Error('getconf CLK_TCK returned no tick rate; the bench needs Linux /proc');
  }
  return ticks;
}
