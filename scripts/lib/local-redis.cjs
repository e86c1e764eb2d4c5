'use strict';
// Starts a private redis-server for local runs and tests when REDIS_URL is not set.
// CommonJS so that both the ESM entry scripts and jest's global setup can load it.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const INSTALL_COMMAND = 'apt-get update && apt-get install -y redis-server';

function findRedisServer() {
  const result = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const found = result.stdout.trim();
  return found === '' ? undefined : found;
}

/** Finds redis-server on PATH, installing it from Debian packages when running as root. */
function ensureRedisServer(log) {
  const existing = findRedisServer();
  if (existing) return existing;

  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    throw new Error(
      `redis-server is not installed. Install it with: sudo sh -c '${INSTALL_COMMAND}', ` +
        'or set REDIS_URL to a running Redis.',
    );
  }

  log(`redis-server not found; installing it with: ${INSTALL_COMMAND}`);
  const install = spawnSync('sh', ['-c', INSTALL_COMMAND], { stdio: 'inherit' });
  const installed = findRedisServer();
  if (install.status !== 0 || !installed) {
    throw new Error(`Installing redis-server failed. Run '${INSTALL_COMMAND}' and try again.`);
  }
  return installed;
}

function findFreePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function ping(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts redis-server on a free loopback port and waits until it replies to PING.
 * `dataDir` receives the dump file when `persist` is true; otherwise nothing is saved.
 * `port` reuses a known port, for tests that restart a stopped server.
 * `detached` puts the server in a process group of its own. A terminal's Ctrl-C then does not
 * stop it before the services that use it have shut down, so the caller must stop it.
 */
async function startLocalRedis({
  dataDir,
  persist = false,
  port: fixedPort,
  detached = false,
  log = () => {},
}) {
  const binary = ensureRedisServer(log);
  const port = fixedPort ?? (await findFreePort());
  fs.mkdirSync(dataDir, { recursive: true });

  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    path.resolve(dataDir),
    '--appendonly',
    'no',
    '--save',
    persist ? '60 1' : '',
    '--maxmemory-policy',
    'noeviction',
    '--logfile',
    path.resolve(dataDir, 'redis.log'),
  ];
  const child = spawn(binary, args, { stdio: 'ignore', detached });
  let exitCode;
  child.once('exit', (code) => {
    exitCode = code;
  });

  const deadline = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (exitCode !== undefined || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `redis-server did not start on port ${port}; see ${path.resolve(dataDir, 'redis.log')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        if (exitCode !== undefined) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

module.exports = { startLocalRedis, ensureRedisServer, findFreePort };
