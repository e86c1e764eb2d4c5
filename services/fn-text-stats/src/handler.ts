import { createJobHandler } from '@bullpen/handler';
import { loadTextStatsConfig } from './config';
import { textStatsRequestSchema } from './request';
import { runTextStats } from './text-stats-job';

// Read once per execution environment, at cold start. `__dirname` is only defined when this
// runs as CommonJS (tsx on a package without "type": "module", or a CommonJS bundle).
const config = loadTextStatsConfig(
  process.env,
  typeof __dirname === 'undefined' ? undefined : __dirname,
);

/**
 * Lambda entry point: statistics of a text per job, called over HTTP through a Function URL
 * (it also accepts a direct Invoke).
 */
export const handler = createJobHandler((job, ctx) => runTextStats(job, ctx, config), {
  dataSchema: textStatsRequestSchema,
});
