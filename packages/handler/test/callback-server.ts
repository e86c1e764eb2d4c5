import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCallback {
  readonly method: string;
  /** Path as received, still percent-encoded. */
  readonly path: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

export interface CallbackReply {
  status: number;
  body?: unknown;
  delayMs?: number;
}

export interface CallbackServer {
  readonly url: string;
  readonly received: RecordedCallback[];
  /** Decides the reply to each request; the default accepts everything with 200. */
  reply: (callback: RecordedCallback) => CallbackReply;
  close(): Promise<void>;
}

/** Starts a loopback HTTP server that records requests to the API's progress and log routes. */
export async function startCallbackServer(): Promise<CallbackServer> {
  const received: RecordedCallback[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const state: CallbackServer = {
    url: '',
    received,
    reply: () => ({ status: 200, body: { ok: true } }),
    close: () =>
      new Promise((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const callback: RecordedCallback = {
        method: req.method ?? '',
        path: req.url ?? '',
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body: text === '' ? undefined : JSON.parse(text),
      };
      received.push(callback);

      const reply = state.reply(callback);
      const send = () => {
        res.writeHead(reply.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(reply.body ?? {}));
      };
      if (reply.delayMs === undefined) return send();
      const timer = setTimeout(() => {
        timers.delete(timer);
        send();
      }, reply.delayMs);
      timers.add(timer);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, { url: `http://127.0.0.1:${port}` });
}
