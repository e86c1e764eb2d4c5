import { Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * A construct prop outside its allowed values. The message names the construct path, the
 * prop, the value given and what is allowed.
 */
export class InfraValidationError extends Error {
  readonly constructPath: string;
  readonly prop: string;

  constructor(scope: IConstruct, prop: string, message: string) {
    super(`${scope.node.path}: ${prop} ${message}`);
    this.name = 'InfraValidationError';
    this.constructPath = scope.node.path;
    this.prop = prop;
  }
}

/**
 * Throws unless `value` is an integer from `min` to `max`. Unresolved tokens pass, since
 * their value is only known at deploy time.
 */
export function assertIntegerInRange(
  scope: IConstruct,
  prop: string,
  value: number | undefined,
  min: number,
  max: number,
): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InfraValidationError(
      scope,
      prop,
      `must be an integer from ${min} to ${max}; got ${value}`,
    );
  }
}
