import {
  functionArn,
  resolveQualifier,
  type FunctionIdentity,
  type ResolvedFunction,
} from '../function-definition';
import { invalidParameterValue, resourceNotFound, validationFailed } from './lambda-api-error';

/**
 * The forms the Lambda API accepts for FunctionName: a name, a partial ARN
 * (`123456789012:function:name`) or a full ARN, each optionally ending in `:qualifier`.
 * Adapted from the FunctionName pattern of the Invoke API reference.
 */
const FUNCTION_REFERENCE_PATTERN =
  /^(?:arn:aws[a-zA-Z-]*:lambda:)?(?:([a-z]{2}(?:-gov)?-[a-z]+-\d):)?(?:(\d{12}):)?(?:function:)?([a-zA-Z0-9_.-]+)(?::(\$LATEST|[a-zA-Z0-9_-]+))?$/;

const QUALIFIER_PATTERN = /^(?:\$LATEST|[a-zA-Z0-9_-]{1,128})$/;

/** The function a request names, with the version its qualifier runs. */
export interface FunctionTarget {
  readonly fn: ResolvedFunction;
  /** The qualifier as given, or undefined for an unqualified request. */
  readonly qualifier: string | undefined;
  /** `$LATEST` or `1`. */
  readonly version: string;
  /** The ARN the caller invoked: qualified exactly when the request named a qualifier. */
  readonly invokedArn: string;
}

/**
 * Finds the function and version a FunctionName path segment (already percent-decoded) and an
 * optional `Qualifier` query parameter name. Throws the LambdaApiError Lambda would return.
 */
export function resolveFunctionTarget(
  functions: ReadonlyMap<string, ResolvedFunction>,
  identity: FunctionIdentity,
  functionReference: string,
  queryQualifier: string | undefined,
): FunctionTarget {
  const match = FUNCTION_REFERENCE_PATTERN.exec(functionReference);
  if (functionReference.length > 170 || match === null) {
    throw validationFailed(
      `1 validation error detected: Value '${functionReference}' at 'functionName' failed to ` +
        'satisfy constraint: Member must satisfy regular expression pattern: ' +
        FUNCTION_REFERENCE_PATTERN.source,
    );
  }
  const [, region, accountId, name = '', nameQualifier] = match;

  if (queryQualifier !== undefined && !QUALIFIER_PATTERN.test(queryQualifier)) {
    throw validationFailed(
      `1 validation error detected: Value '${queryQualifier}' at 'qualifier' failed to satisfy ` +
        `constraint: Member must satisfy regular expression pattern: ${QUALIFIER_PATTERN.source}`,
    );
  }
  if (
    nameQualifier !== undefined &&
    queryQualifier !== undefined &&
    nameQualifier !== queryQualifier
  ) {
    // NOTE: unconfirmed message text, because the API reference gives none.
    throw invalidParameterValue(
      'The derived qualifier from the function name does not match the specified qualifier.',
    );
  }
  const qualifier = nameQualifier ?? queryQualifier;

  const requested = {
    region: region ?? identity.region,
    accountId: accountId ?? identity.accountId,
  };
  const invokedArn = functionArn(requested, name, qualifier);
  const fn = functions.get(name);
  const sameAccount =
    requested.region === identity.region && requested.accountId === identity.accountId;
  if (fn === undefined || !sameAccount) throw resourceNotFound(invokedArn);

  const version = resolveQualifier(fn, qualifier);
  if (version === undefined) throw resourceNotFound(invokedArn);

  return { fn, qualifier, version, invokedArn };
}
