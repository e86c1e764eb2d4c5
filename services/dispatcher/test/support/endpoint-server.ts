import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the endpoint received it. */
export interface ReceivedCall {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  /** Header names and values as sent, alternating, with duplicates kept. */
  readonly rawHeaders: string[];
  /** The parsed JSON body, or the raw text when it is not JSON. */
  readonly body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly rawBody: string;
  readonly receivedAtMs: number;
}

/** Writes the response to one call. It may also destroy the socket or never respond. */
export type EndpointHandler = (
  call: ReceivedCall,
  response: http.ServerResponse,
  request: http.IncomingMessage,
) => unknown;

export interface EndpointServer {
  /** Base URL, such as `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Every call received so far, in arrival order. */
  readonly calls: ReceivedCall[];
  /** Calls whose response has not finished yet. */
  readonly inFlight: number;
  /** Highest `inFlight` seen since start or the last `resetCounters()`. */
  readonly maxInFlight: number;
  /** Calls whose client went away before the response finished. */
  readonly abortedCalls: ReceivedCall[];
  setHandler(handler: EndpointHandler): void;
  resetCounters(): void;
  close(): Promise<void>;
}

/** Responds 200 with `{"ok": true}`. */
export const respondOk: EndpointHandler = (_call, response) => {
  response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
};

/**
 * Starts an HTTP server on 127.0.0.1 that records every call and responds through a
 * replaceable handler. It counts concurrent calls, so tests can check concurrency limits.
 */
export async function startEndpointServer(
  handler: EndpointHandler = respondOk,
): Promise<EndpointServer> {
  let currentHandler = handler;
  const calls: ReceivedCall[] = [];
  const abortedCalls: ReceivedCall[] = [];
  let inFlight = 0;
  let maxInFlight = 0;

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: unknown = rawBody;
      try {
        body = JSON.parse(rawBody);
      } catch {
        // Not JSON: keep the text.
      }
      const call: ReceivedCall = {
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        rawHeaders: request.rawHeaders,
        body,
        rawBody,
        receivedAtMs: Date.now(),
      };
      calls.push(call);
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      let counted = true;
      const finish = () => {
        if (!counted) return;
        counted = false;
        inFlight -= 1;
      };
      response.on('finish', finish);
      response.on('close', () => {
        if (!response.writableFinished) abortedCalls.push(call);
        finish();
      });
      Promise.resolve(currentHandler(call, response, request)).catch((error: unknown) => {
        response.destroy(error as Error);
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    abortedCalls,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    setHandler(next) {
      currentHandler = next;
    },
    resetCounters() {
      maxInFlight = inFlight;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Resolves when `condition` returns true, polling every 20 ms; rejects after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  description = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
