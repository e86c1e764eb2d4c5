import fs from 'node:fs';
import path from 'node:path';
import { InvalidFunctionDefinitionError } from './errors';

/** One function the local host serves, as a test or the local stack declares it. */
export interface LocalFunctionDefinition {
  /** Function name, for example `csv-report`: 1 to 64 letters, digits, hyphens or underscores. */
  name: string;
  /** Absolute path of the `.ts` or `.js` module that exports the handler. */
  handlerModule: string;
  /** Name of the handler export; default `handler`. */
  handlerExport?: string;
  /** Time an invocation may run before it is stopped; default 3000 (Lambda's default 3 s). */
  timeoutMs?: number;
  /** Memory size reported to the handler and in the configuration; default 128. Not enforced. */
  memorySizeMb?: number;
  /**
   * Maximum concurrent invocations; default unlimited. Synchronous invocations beyond it get
   * 429 TooManyRequestsException, asynchronous ones wait for a free execution environment.
   */
  reservedConcurrency?: number;
  /** Environment variables of the handler, applied after the Lambda runtime variables. */
  environment?: Record<string, string>;
  /** Alias names accepted as qualifiers besides `$LATEST` and `1`; all point at version 1. */
  aliases?: string[];
  /** Also serve the function as a Lambda Function URL on a listener of its own; default false. */
  functionUrl?: boolean;
}

/** Version that an unqualified invocation or `$LATEST` runs. */
export const LATEST_VERSION = '$LATEST';
/** The one published version every local function has; aliases point at it. */
export const PUBLISHED_VERSION = '1';

/** Lambda's limits: a timeout of up to 900 s and a memory size of 128 to 10,240 MB. */
const MAX_TIMEOUT_MS = 900_000;
const MIN_MEMORY_SIZE_MB = 128;
const MAX_MEMORY_SIZE_MB = 10_240;
const DEFAULT_TIMEOUT_MS = 3_000;

const FUNCTION_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;
const ALIAS_PATTERN = /^[a-zA-Z0-9_-]{1,128}$/;
const EXPORT_NAME_PATTERN = /^[A-Za-z_$][\w$]*$/;
const ENVIRONMENT_KEY_PATTERN = /^[a-zA-Z][a-zA-Z0-9_]+$/;

/** A definition with its defaults applied and its identity in the host's account and region. */
export interface ResolvedFunction {
  readonly name: string;
  readonly handlerModule: string;
  readonly handlerExport: string;
  /** Lambda's `Handler` setting: module file name without extension, a dot, the export name. */
  readonly handler: string;
  readonly timeoutMs: number;
  readonly memorySizeMb: number;
  /** Undefined when concurrency is unlimited. */
  readonly reservedConcurrency: number | undefined;
  readonly environment: Readonly<Record<string, string>>;
  readonly aliases: ReadonlySet<string>;
  readonly functionUrl: boolean;
  readonly region: string;
  readonly accountId: string;
  /** Unqualified function ARN. */
  readonly arn: string;
}

export interface FunctionIdentity {
  readonly region: string;
  readonly accountId: string;
}

/** Builds a function ARN, qualified when `qualifier` is given. */
export function functionArn(
  identity: FunctionIdentity,
  functionName: string,
  qualifier?: string,
): string {
  const base = `arn:aws:lambda:${identity.region}:${identity.accountId}:function:${functionName}`;
  return qualifier === undefined ? base : `${base}:${qualifier}`;
}

/**
 * Returns the version a qualifier runs (`$LATEST` or `1`), or undefined when the function has
 * no such version or alias.
 */
export function resolveQualifier(
  fn: ResolvedFunction,
  qualifier: string | undefined,
): string | undefined {
  if (qualifier === undefined || qualifier === LATEST_VERSION) return LATEST_VERSION;
  if (qualifier === PUBLISHED_VERSION || fn.aliases.has(qualifier)) return PUBLISHED_VERSION;
  return undefined;
}

/** Checks every definition and applies the defaults; throws on the first broken rule. */
export function resolveFunctionDefinitions(
  definitions: readonly LocalFunctionDefinition[],
  identity: FunctionIdentity,
): Map<string, ResolvedFunction> {
  const resolved = new Map<string, ResolvedFunction>();
  for (const definition of definitions) {
    const fn = resolveFunctionDefinition(definition, identity);
    if (resolved.has(fn.name)) {
      throw new InvalidFunctionDefinitionError(
        fn.name,
        'name',
        'is defined twice; give each function a unique name',
      );
    }
    resolved.set(fn.name, fn);
  }
  return resolved;
}

function resolveFunctionDefinition(
  definition: LocalFunctionDefinition,
  identity: FunctionIdentity,
): ResolvedFunction {
  const name = String(definition.name);
  const fail = (field: string, message: string): never => {
    throw new InvalidFunctionDefinitionError(name, field, message);
  };

  if (!FUNCTION_NAME_PATTERN.test(name)) {
    fail('name', 'must be 1 to 64 letters, digits, hyphens or underscores');
  }
  checkHandlerModule(definition.handlerModule, fail);

  const handlerExport = definition.handlerExport ?? 'handler';
  if (!EXPORT_NAME_PATTERN.test(handlerExport)) {
    fail('handlerExport', `"${handlerExport}" is not a JavaScript identifier`);
  }

  const timeoutMs = definition.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
    fail('timeoutMs', `is ${timeoutMs}; use an integer from 1 to ${MAX_TIMEOUT_MS}`);
  }

  const memorySizeMb = definition.memorySizeMb ?? MIN_MEMORY_SIZE_MB;
  if (
    !Number.isInteger(memorySizeMb) ||
    memorySizeMb < MIN_MEMORY_SIZE_MB ||
    memorySizeMb > MAX_MEMORY_SIZE_MB
  ) {
    fail(
      'memorySizeMb',
      `is ${memorySizeMb}; use an integer from ${MIN_MEMORY_SIZE_MB} to ${MAX_MEMORY_SIZE_MB}`,
    );
  }

  const reservedConcurrency = definition.reservedConcurrency;
  if (
    reservedConcurrency !== undefined &&
    (!Number.isInteger(reservedConcurrency) || reservedConcurrency < 0)
  ) {
    fail('reservedConcurrency', `is ${reservedConcurrency}; use an integer of 0 or more`);
  }

  const environment = { ...(definition.environment ?? {}) };
  for (const [key, value] of Object.entries(environment)) {
    if (!ENVIRONMENT_KEY_PATTERN.test(key)) {
      fail('environment', `key "${key}" must start with a letter and contain only A-Z, 0-9, _`);
    }
    if (typeof value !== 'string') {
      fail('environment', `value of "${key}" must be a string`);
    }
  }

  const aliases = new Set<string>();
  for (const alias of definition.aliases ?? []) {
    if (!ALIAS_PATTERN.test(alias) || /^\d+$/.test(alias)) {
      fail(
        'aliases',
        `"${alias}" must be 1 to 128 letters, digits, hyphens or underscores, not only digits`,
      );
    }
    aliases.add(alias);
  }

  const moduleBaseName = path.basename(definition.handlerModule).replace(/\.[^.]+$/, '');
  return {
    name,
    handlerModule: definition.handlerModule,
    handlerExport,
    handler: `${moduleBaseName}.${handlerExport}`,
    timeoutMs,
    memorySizeMb,
    reservedConcurrency,
    environment,
    aliases,
    functionUrl: definition.functionUrl ?? false,
    region: identity.region,
    accountId: identity.accountId,
    arn: functionArn(identity, name),
  };
}

function checkHandlerModule(
  handlerModule: string,
  fail: (field: string, message: string) => never,
): void {
  if (typeof handlerModule !== 'string' || !path.isAbsolute(handlerModule)) {
    fail('handlerModule', `"${handlerModule}" must be an absolute path`);
  }
  let isFile: boolean;
  try {
    isFile = fs.statSync(handlerModule).isFile();
  } catch {
    isFile = false;
  }
  if (!isFile) {
    fail('handlerModule', `"${handlerModule}" is not a file; check the path`);
  }
}
