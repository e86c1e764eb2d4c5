import { spawnSync } from 'node:child_process';

/**
 * Returns why the LocalStack suite cannot run here, or undefined when a Docker engine responds.
 * `docker info` fails within a second when the CLI finds no engine; 10 s bounds a hung one.
 */
export function dockerUnavailableReason(): string | undefined {
  const result = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (result.error) return `docker CLI not usable (${result.error.message})`;
  if (result.status !== 0) {
    const firstLine = (result.stderr || result.stdout).trim().split('\n')[0] ?? '';
    return `no Docker engine (docker info: ${firstLine || `exit ${result.status}`})`;
  }
  return undefined;
}

/** Runs `docker compose` with the LocalStack file; throws with its output when it fails. */
export function dockerCompose(
  composeFile: string,
  args: readonly string[],
  timeoutMs: number,
): void {
  const result = spawnSync('docker', ['compose', '-f', composeFile, ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  if (result.status !== 0) {
    throw new Error(
      `docker compose ${args.join(' ')} failed (exit ${result.status ?? 'timeout'}): ` +
        `${(result.stderr || result.stdout || String(result.error ?? '')).trim()}`,
    );
  }
}
