import { resolveDataDir } from '@bullpen/handler';

export interface TextStatsConfig {
  /** Directory of the text files jobs may read. */
  readonly dataDir: string;
}

/**
 * Reads the function's configuration. `DATA_DIR` overrides where the text files are;
 * by default they are the `data/` directory shipped beside the handler.
 */
export function loadTextStatsConfig(
  env: Readonly<Record<string, string | undefined>>,
  moduleDir: string | undefined,
): TextStatsConfig {
  return { dataDir: resolveDataDir({ moduleDir, configuredDir: env.DATA_DIR }) };
}
