// Entry point of `pnpm dispatcher`: starts one dispatcher from the environment and runs it
// until SIGTERM or SIGINT.
import { createLogger } from '@bullpen/core';
import { loadDispatcherConfig, type DispatcherConfig } from './config';
import { startDispatcher, type Dispatcher } from './dispatcher';

const LOGGER_NAME = 'bullpen-dispatcher';

async function main(): Promise<void> {
  let config: DispatcherConfig;
  try {
    config = loadDispatcherConfig();
  } catch (error) {
    createLogger({ name: LOGGER_NAME }).fatal(
      { err: error },
      'invalid configuration; not starting',
    );
    process.exit(1);
  }

  const logger = createLogger({ name: LOGGER_NAME, level: config.logLevel });
  let dispatcher: Dispatcher;
  try {
    dispatcher = await startDispatcher(config, { logger });
  } catch (error) {
    logger.fatal({ err: error }, 'dispatcher failed to start');
    process.exit(1);
  }
  logger.info({ metricsUrl: `${dispatcher.metricsUrl}/metrics` }, 'metrics served');

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal during shutdown; exiting at once');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutdown requested');
    dispatcher.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'dispatcher shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // A library promise that rejects with no handler attached would otherwise end the process
  // and cut off every in-flight call. Log it and keep the other queues running.
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection');
  });
}

void main();
