import { ConfigError, createLogger } from '@bullpen/core';
import { loadApiConfig } from './config';
import { startApiServer } from './server';

async function main(): Promise<void> {
  const config = loadApiConfig(process.env);
  const logger = createLogger({ name: 'bullpen-api', level: config.logLevel });
  if (config.authDisabled) {
    logger.warn('AUTH_DISABLED is set: every request is accepted without a token');
  } else if (config.authTokens.length === 0) {
    logger.warn('AUTH_TOKENS is empty: every authenticated route will return 401');
  }

  const server = await startApiServer(config, { logger });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'api stopping');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'api failed to stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : String(error);
  process.stderr.write(`bullpen-api failed to start: ${message}\n`);
  process.exit(1);
});
