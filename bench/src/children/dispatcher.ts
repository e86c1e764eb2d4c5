// Runs Bullpen's dispatcher from its environment, as `pnpm dispatcher` does, but with fixed
// fake AWS credentials: the bench never lets an AWS SDK client fall back to the default
// credential chain, whose last step queries the instance metadata service.
import { createLogger } from '@bullpen/core';
import { loadDispatcherConfig, startDispatcher } from '@bullpen/dispatcher';

const FAKE_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

async function main(): Promise<void> {
  const config = loadDispatcherConfig(process.env);
  const logger = createLogger({ name: 'bullpen-dispatcher', level: config.logLevel });
  const dispatcher = await startDispatcher(config, { logger, awsCredentials: FAKE_CREDENTIALS });

  const stop = () => {
    dispatcher.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'dispatcher shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench dispatcher failed to start: ${String(error)}\n`);
  process.exit(1);
});
