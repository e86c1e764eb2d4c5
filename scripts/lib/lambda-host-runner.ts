// Entry of the local Lambda host child process of `npm start`: serves the example functions and
// reports its addresses to the parent over IPC.
import path from 'node:path';
import { createLogger } from '@bullpen/core';
import { startLambdaHost } from '@bullpen/lambda-host';
import { exampleFunctions } from './example-functions';

/** Sent to the parent once every listener is up. */
export interface LambdaHostReadyMessage {
  readonly type: 'lambda-host-ready';
  readonly url: string;
  /** Function URL by function name, for functions served as Function URLs. */
  readonly functionUrls: Record<string, string>;
}

async function main(): Promise<void> {
  const logger = createLogger({ name: 'bullpen-lambda-host', level: process.env.LOG_LEVEL });
  const repoRoot = path.resolve(__dirname, '..', '..');
  const functions = exampleFunctions(repoRoot);

  const host = await startLambdaHost({ functions, logger });
  const functionUrls = Object.fromEntries(
    functions.filter((fn) => fn.functionUrl).map((fn) => [fn.name, host.functionUrl(fn.name)]),
  );
  logger.info({ url: host.url, functionUrls }, 'lambda host listening');
  const ready: LambdaHostReadyMessage = { type: 'lambda-host-ready', url: host.url, functionUrls };
  process.send?.(ready);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'lambda host stopping');
    host.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'lambda host failed to stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`bullpen lambda host failed to start: ${String(error)}\n`);
  process.exit(1);
});
