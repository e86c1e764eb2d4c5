import { createJobHandler } from '@bullpen/handler';
import { loadCsvReportConfig } from './config';
import { runCsvReport } from './csv-report';
import { reportRequestSchema } from './request';

// Read once per execution environment, at cold start. `__dirname` is only defined when this
// runs as CommonJS (tsx on a package without "type": "module", or a CommonJS bundle).
const config = loadCsvReportConfig(
  process.env,
  typeof __dirname === 'undefined' ? undefined : __dirname,
);

/** Lambda entry point: a CSV report per job, invoked through the Lambda Invoke API. */
export const handler = createJobHandler((job, ctx) => runCsvReport(job, ctx, config), {
  dataSchema: reportRequestSchema,
});
