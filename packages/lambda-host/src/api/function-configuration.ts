import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import type { FunctionTarget } from './function-reference';

/** Settings that are the same for every local function. */
export interface ConfigurationContext {
  /** When the host started, as Lambda's LastModified (`2024-05-01T12:00:00.000+0000`). */
  readonly lastModified: string;
  /** `x86_64` or `arm64`, the architecture of the machine the host runs on. */
  readonly architecture: string;
}

/** Formats a date as Lambda's LastModified field does. */
export function lambdaTimestamp(date: Date): string {
  return date.toISOString().replace('Z', '+0000');
}

/**
 * Builds the FunctionConfiguration document of `GET /2015-03-31/functions/{FunctionName}/configuration`
 * for the version the request names.
 */
export async function functionConfiguration(
  target: FunctionTarget,
  context: ConfigurationContext,
): Promise<Record<string, unknown>> {
  const { fn } = target;
  const code = await fs.readFile(fn.handlerModule);
  const codeSha256 = crypto.createHash('sha256').update(code).digest('base64');
  const logGroup = `/aws/lambda/${fn.name}`;

  return {
    FunctionName: fn.name,
    FunctionArn: target.invokedArn,
    Runtime: 'nodejs20.x',
    Role: `arn:aws:iam::${fn.accountId}:role/${fn.name}-role`,
    Handler: fn.handler,
    CodeSize: code.length,
    Description: '',
    // Lambda configures whole seconds; a timeout below a whole second is rounded up here.
    Timeout: Math.ceil(fn.timeoutMs / 1000),
    MemorySize: fn.memorySizeMb,
    LastModified: context.lastModified,
    CodeSha256: codeSha256,
    Version: target.version,
    Environment: { Variables: { ...fn.environment } },
    TracingConfig: { Mode: 'PassThrough' },
    RevisionId: revisionId(fn.arn, codeSha256),
    State: 'Active',
    LastUpdateStatus: 'Successful',
    PackageType: 'Zip',
    Architectures: [context.architecture],
    EphemeralStorage: { Size: 512 },
    SnapStart: { ApplyOn: 'None', OptimizationStatus: 'Off' },
    LoggingConfig: { LogFormat: 'Text', LogGroup: logGroup },
  };
}

/** Derives a UUID-shaped revision id that changes exactly when the code does. */
function revisionId(arn: string, codeSha256: string): string {
  const hex = crypto.createHash('sha256').update(`${arn}\n${codeSha256}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
