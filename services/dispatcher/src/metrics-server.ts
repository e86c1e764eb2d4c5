import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '@bullpen/core';

export interface MetricsServerSettings {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly registry: Registry;
  /** Returns whether the process should count as healthy, and its lifecycle state. */
  readonly health: () => { healthy: boolean; state: string };
  readonly logger: Logger;
}

export interface MetricsServer {
  /** Base URL, such as `http://127.0.0.1:9464`. */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `GET /metrics` (Prometheus text format) and `GET /health`. */
export async function startMetricsServer(settings: MetricsServerSettings): Promise<MetricsServer> {
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      settings.registry.metrics().then(
        (text) =>
          response.writeHead(200, { 'content-type': settings.registry.contentType }).end(text),
        (error: unknown) => {
          settings.logger.error({ err: error }, 'collecting metrics failed');
          response.writeHead(500).end();
        },
      );
      return;
    }
    if (path === '/health') {
      const { healthy, state } = settings.health();
      response
        .writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: healthy ? 'ok' : 'unavailable', state }));
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
  });
  // The server must not keep a stopping process alive through idle keep-alive sockets.
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
