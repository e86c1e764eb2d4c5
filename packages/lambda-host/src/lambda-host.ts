import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { createApiServer } from './api/api-server';
import { lambdaTimestamp } from './api/function-configuration';
import { LambdaHostError, UnknownFunctionError } from './errors';
import { FunctionRunner } from './execution/function-runner';
import {
  resolveFunctionDefinitions,
  type FunctionIdentity,
  type LocalFunctionDefinition,
} from './function-definition';
import { createFunctionUrlServer } from './function-url/function-url-server';

export interface LambdaHostOptions {
  functions: LocalFunctionDefinition[];
  /** Port of the Lambda API listener; default 0, a free port. */
  port?: number;
  /** Address every listener binds to; default 127.0.0.1. */
  host?: string;
  /** Region in function ARNs and the handler's AWS_REGION; default us-east-1. */
  region?: string;
  /** Account id in function ARNs; default 000000000000. */
  accountId?: string;
  /** Receives the host's structured logs; default a silent logger. */
  logger?: Logger;
}

/** A running local Lambda host. */
export interface LambdaHost {
  /** Endpoint for `new LambdaClient({ endpoint })`. */
  readonly url: string;
  /** Base URL, ending in `/`, of the Function URL of a function defined with `functionUrl: true`. */
  functionUrl(name: string): string;
  /** Invocations of a function that reached an execution environment, whatever their outcome. */
  invocationCount(name: string): number;
  /** Stops every listener and terminates every execution environment. */
  close(): Promise<void>;
}

const REGION_PATTERN = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const ACCOUNT_ID_PATTERN = /^\d{12}$/;

/**
 * Starts a host that serves the Lambda Invoke and GetFunctionConfiguration REST API on loopback
 * and runs the handler modules of `functions` in worker threads, so code using
 * `@aws-sdk/client-lambda` runs unchanged against it.
 */
export async function startLambdaHost(options: LambdaHostOptions): Promise<LambdaHost> {
  const identity = checkIdentity(options);
  const logger = options.logger ?? pino({ level: 'silent' });
  const hostAddress = options.host ?? '127.0.0.1';
  const functions = resolveFunctionDefinitions(options.functions, identity);
  const runners = new Map(
    [...functions.values()].map((fn) => [fn.name, new FunctionRunner(fn, logger)] as const),
  );

  const host = new LocalLambdaHost(runners, logger);
  const apiServer = createApiServer({
    functions,
    runners,
    identity,
    configuration: {
      lastModified: lambdaTimestamp(new Date()),
      architecture: process.arch === 'arm64' ? 'arm64' : 'x86_64',
    },
    logger,
    trackBackground: (invocation) => host.trackBackground(invocation),
  });

  try {
    host.apiUrl = await listen(host, apiServer, hostAddress, options.port ?? 0);
    for (const runner of runners.values()) {
      if (!runner.fn.functionUrl) continue;
      const server = createFunctionUrlServer(runner, logger);
      host.functionUrls.set(runner.fn.name, `${await listen(host, server, hostAddress, 0)}/`);
    }
  } catch (error) {
    await host.close();
    throw error;
  }

  logger.info(
    {
      url: host.url,
      functions: [...functions.keys()],
      functionUrls: Object.fromEntries(host.functionUrls),
    },
    'lambda host started',
  );
  return host;
}

class LocalLambdaHost implements LambdaHost {
  apiUrl = '';
  readonly functionUrls = new Map<string, string>();
  readonly servers: http.Server[] = [];
  private readonly runners: ReadonlyMap<string, FunctionRunner>;
  private readonly logger: Logger;
  private readonly background = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;

  constructor(runners: ReadonlyMap<string, FunctionRunner>, logger: Logger) {
    this.runners = runners;
    this.logger = logger;
  }

  get url(): string {
    return this.apiUrl;
  }

  functionUrl(name: string): string {
    const url = this.functionUrls.get(name);
    if (url !== undefined) return url;
    const detail = this.runners.has(name)
      ? 'has no Function URL; define it with functionUrl: true'
      : 'is not defined on this host';
    throw new UnknownFunctionError(name, detail);
  }

  invocationCount(name: string): number {
    const runner = this.runners.get(name);
    if (runner === undefined) throw new UnknownFunctionError(name, 'is not defined on this host');
    return runner.invocationCount;
  }

  trackBackground(invocation: Promise<unknown>): void {
    this.background.add(invocation);
    void invocation.finally(() => this.background.delete(invocation));
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  /**
   * Stops the listeners first so no invocation starts, then terminates every environment, which
   * also ends invocations still running. Every step runs even when an earlier one fails.
   */
  private async shutDown(): Promise<void> {
    const listenerResults = await Promise.allSettled(this.servers.map(closeServer));
    const runnerResults = await Promise.allSettled(
      [...this.runners.values()].map((runner) => runner.close()),
    );
    await Promise.allSettled([...this.background]);

    const failures = [...listenerResults, ...runnerResults].flatMap((result) =>
      result.status === 'rejected' ? [result.reason as unknown] : [],
    );
    if (failures.length > 0) {
      this.logger.error({ err: failures[0], failures: failures.length }, 'lambda host stop failed');
      throw new AggregateError(failures, 'The local Lambda host did not stop cleanly');
    }
    this.logger.info({ url: this.apiUrl }, 'lambda host stopped');
  }
}

function checkIdentity(options: LambdaHostOptions): FunctionIdentity {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  if (!REGION_PATTERN.test(region)) {
    throw new LambdaHostError(`Invalid region "${region}"; use a region name such as us-east-1`);
  }
  if (!ACCOUNT_ID_PATTERN.test(accountId)) {
    throw new LambdaHostError(`Invalid accountId "${accountId}"; use 12 digits`);
  }
  return { region, accountId };
}

/** Listens on `address:port` and returns the server's base URL without a trailing slash. */
function listen(
  host: LocalLambdaHost,
  server: http.Server,
  address: string,
  port: number,
): Promise<string> {
  host.servers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      const bound = server.address() as AddressInfo;
      const hostPart = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
      resolve(`http://${hostPart}:${bound.port}`);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // Keep-alive connections of SDK clients would otherwise hold close() open.
    server.closeAllConnections();
  });
}
