import path from 'node:path';
import type { LocalFunctionDefinition } from '@bullpen/lambda-host';

export const CSV_REPORT_FUNCTION = 'csv-report';
export const TEXT_STATS_FUNCTION = 'text-stats';

/**
 * Lists the example functions the local stack serves: csv-report through the Lambda Invoke API,
 * text-stats also as a Function URL.
 */
export function exampleFunctions(repoRoot: string): LocalFunctionDefinition[] {
  return [
    {
      name: CSV_REPORT_FUNCTION,
      handlerModule: path.join(repoRoot, 'services/fn-csv-report/src/handler.ts'),
      timeoutMs: 30_000,
    },
    {
      name: TEXT_STATS_FUNCTION,
      handlerModule: path.join(repoRoot, 'services/fn-text-stats/src/handler.ts'),
      timeoutMs: 30_000,
      functionUrl: true,
    },
  ];
}
