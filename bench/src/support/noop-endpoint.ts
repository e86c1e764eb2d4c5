import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

const RESPONSE_BODY = JSON.stringify({ ok: true });

export interface NoopEndpointOptions {
  /**
   * Receives each parsed request body with the `performance.now()` time its last byte
   * arrived. When unset, bodies are read and dropped without parsing.
   */
  readonly onBody?: (body: unknown, arrivedAtMs: number) => void;
}

/** A loopback HTTP endpoint that responds 200 with a small JSON body to every request. */
export interface NoopEndpoint {
  readonly url: string;
  /** Requests served since the start. */
  requestCount(): number;
  close(): Promise<void>;
}

/** Starts a no-op endpoint on a free port of 127.0.0.1. */
export async function startNoopEndpoint(options: NoopEndpointOptions = {}): Promise<NoopEndpoint> {
  let requests = 0;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => {
      if (options.onBody) chunks.push(chunk);
    });
    request.on('end', () => {
      const arrivedAtMs = performance.now();
      requests += 1;
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(RESPONSE_BODY),
      });
      response.end(RESPONSE_BODY);
      if (options.onBody) options.onBody(JSON.parse(Buffer.concat(chunks).toString()), arrivedAtMs);
    });
  });
  // Node's 5 s default would close pooled connections during the pauses between runs.
  server.keepAliveTimeout = 120_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requestCount: () => requests,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
