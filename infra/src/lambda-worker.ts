import { type CustomResource, type Duration, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { InfraValidationError } from './errors';
import {
  assertEndpointTimeout,
  assertQueueName,
  workerOptionsToJson,
  type WorkerOptions,
} from './worker-options';
import type { WorkerRegistrar } from './worker-registrar';

const QUALIFIER_PATTERN = /^(\$LATEST|[a-zA-Z0-9-_]{1,128})$/;

export interface LambdaWorkerProps {
  /** Queue whose jobs the function runs: 1 to 100 characters, no `:`. */
  readonly queue: string;
  /** Function the dispatcher invokes through the Lambda Invoke API, once per job attempt. */
  readonly function: lambda.IFunction;
  /** Role of the dispatcher tasks; it is granted invoke on this function only. */
  readonly dispatcher: iam.IGrantable;
  /** Registers the worker with the API at deploy time. */
  readonly registrar: WorkerRegistrar;
  /**
   * Alias or version to invoke.
   * @default the unqualified function ($LATEST)
   */
  readonly qualifier?: string;
  /**
   * Time the dispatcher waits for one invocation, at most 15 minutes.
   * @default the function's configured timeout plus a small margin, read by the dispatcher
   */
  readonly timeout?: Duration;
  /** @default BullMQ's worker defaults */
  readonly options?: WorkerOptions;
}

/**
 * Declares in code that jobs of `queue` run on a Lambda function: grants the dispatcher
 * `lambda:InvokeFunction` and `lambda:GetFunctionConfiguration` on exactly that function,
 * and registers the worker through the API when the stack deploys (removing it when the
 * construct is removed).
 */
export class LambdaWorker extends Construct {
  readonly queue: string;
  readonly registration: CustomResource;

  constructor(scope: Construct, id: string, props: LambdaWorkerProps) {
    super(scope, id);

    assertQueueName(this, props.queue);
    assertEndpointTimeout(this, props.timeout);
    if (
      props.qualifier !== undefined &&
      !Token.isUnresolved(props.qualifier) &&
      !QUALIFIER_PATTERN.test(props.qualifier)
    ) {
      throw new InfraValidationError(
        this,
        'qualifier',
        `must be $LATEST, a version number or an alias name of 1 to 128 letters, digits, ` +
          `"-" or "_"; got "${props.qualifier}"`,
      );
    }
    const opts = workerOptionsToJson(this, props.options);
    this.queue = props.queue;

    const functionArn = props.function.functionArn;
    const grant = iam.Grant.addToPrincipal({
      grantee: props.dispatcher,
      actions: ['lambda:InvokeFunction'],
      resourceArns: [
        props.qualifier === undefined ? functionArn : `${functionArn}:${props.qualifier}`,
      ],
    });
    // The dispatcher reads the configured timeout when the registration sets none.
    const readGrant = iam.Grant.addToPrincipal({
      grantee: props.dispatcher,
      actions: ['lambda:GetFunctionConfiguration'],
      resourceArns: [functionArn],
    });

    const endpoint: Record<string, unknown> = { type: 'lambda', functionName: functionArn };
    if (props.qualifier !== undefined) endpoint.qualifier = props.qualifier;
    if (props.timeout !== undefined) endpoint.timeout = props.timeout.toMilliseconds();

    this.registration = props.registrar.register(
      this,
      'Registration',
      { queue: props.queue, endpoint, opts },
      [grant, readGrant],
    );
  }
}
