import net from 'node:net';

/**
 * Returns the length in bytes of the RESP2 reply that starts at `start`, or -1 when `buffer`
 * does not contain all of it yet.
 */
function replyLength(buffer: Buffer, start: number): number {
  const lineEnd = buffer.indexOf('\r\n', start);
  if (lineEnd < 0) return -1;
  const type = String.fromCharCode(buffer[start] as number);
  const header = Number(buffer.toString('latin1', start + 1, lineEnd));
  const afterHeader = lineEnd + 2;

  if (type === '+' || type === '-' || type === ':') return afterHeader - start;
  if (type === '$') {
    if (header < 0) return afterHeader - start;
    const end = afterHeader + header + 2;
    return buffer.length < end ? -1 : end - start;
  }
  if (type === '*') {
    let position = afterHeader;
    for (let index = 0; index < header; index++) {
      const length = replyLength(buffer, position);
      if (length < 0) return -1;
      position += length;
    }
    return position - start;
  }
  throw new Error(`Invalid RESP2 reply: unknown type byte "${type}" at offset ${start}`);
}

export interface RedisProxy {
  readonly url: string;
  /** Keeps Redis's replies from reaching the client until `closeAfterReplies`. */
  holdReplies(): void;
  /**
   * Passes the held replies and those that follow until `count` replies have passed, then
   * closes both sockets of every connection. Later connections are forwarded as usual.
   */
  closeAfterReplies(count: number): void;
  /** Sends new connections to the Redis on `redisPort`, while open ones stay where they are. */
  retarget(redisPort: number): void;
  close(): Promise<void>;
}

/**
 * Starts a TCP proxy on 127.0.0.1 to the Redis on `redisPort`, for tests that drop the
 * connection after Redis has run a pipeline but before all of its replies reach the client.
 */
export async function startRedisProxy(redisPort: number): Promise<RedisProxy> {
  let targetPort = redisPort;
  let holding = false;
  let repliesLeft: number | undefined;
  const sockets = new Set<net.Socket>();
  const forwarders = new Set<() => void>();

  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    let pending = Buffer.alloc(0);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      forwarders.delete(forward);
    };

    function forward(): void {
      if (holding) return;
      if (repliesLeft === undefined) {
        if (pending.length > 0) client.write(pending);
        pending = Buffer.alloc(0);
        return;
      }
      let passed = 0;
      while (repliesLeft > 0) {
        const length = replyLength(pending, passed);
        if (length < 0) break;
        passed += length;
        repliesLeft -= 1;
      }
      client.write(pending.subarray(0, passed));
      pending = pending.subarray(passed);
      if (repliesLeft > 0) return;
      repliesLeft = undefined;
      for (const socket of [...sockets]) socket.destroy();
    }

    sockets.add(client);
    sockets.add(upstream);
    forwarders.add(forward);
    client.on('data', (data: Buffer) => upstream.write(data));
    upstream.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      forward();
    });
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;

  return {
    url: `redis://127.0.0.1:${port}`,
    holdReplies: () => {
      holding = true;
    },
    closeAfterReplies: (count) => {
      holding = false;
      repliesLeft = count;
      for (const forward of [...forwarders]) forward();
    },
    retarget: (port) => {
      targetPort = port;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
