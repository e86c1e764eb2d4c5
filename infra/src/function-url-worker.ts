import { type CustomResource, type Duration, Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  assertEndpointTimeout,
  assertQueueName,
  workerOptionsToJson,
  type WorkerOptions,
} from './worker-options';
import type { WorkerRegistrar } from './worker-registrar';

export interface FunctionUrlWorkerProps {
  /** Queue whose jobs the function runs: 1 to 100 characters, no `:`. */
  readonly queue: string;
  /** Function behind `functionUrl`. */
  readonly function: lambda.IFunction;
  /** The function's URL; it must use `AWS_IAM` auth. */
  readonly functionUrl: lambda.IFunctionUrl;
  /** Role of the dispatcher tasks, which signs each request with SigV4. */
  readonly dispatcher: iam.IGrantable;
  readonly registrar: WorkerRegistrar;
  /**
   * Time the dispatcher waits for one call, at most 15 minutes.
   * @default 30 s, the API's default for HTTP endpoints
   */
  readonly timeout?: Duration;
  /** @default BullMQ's worker defaults */
  readonly options?: WorkerOptions;
}

/**
 * Declares that jobs of `queue` run on a function over its `AWS_IAM` Function URL. Grants
 * the dispatcher `lambda:InvokeFunctionUrl` on exactly that function, and registers the
 * worker at deploy time. Lambda also checks `lambda:InvokeFunction` for URL calls, so that
 * is granted too, limited to URL calls by the `lambda:InvokedViaFunctionUrl` condition.
 */
export class FunctionUrlWorker extends Construct {
  readonly queue: string;
  readonly registration: CustomResource;

  constructor(scope: Construct, id: string, props: FunctionUrlWorkerProps) {
    super(scope, id);

    assertQueueName(this, props.queue);
    assertEndpointTimeout(this, props.timeout);
    const opts = workerOptionsToJson(this, props.options);
    this.queue = props.queue;

    const grant = props.function.grantInvokeUrl(props.dispatcher);

    const endpoint: Record<string, unknown> = {
      url: props.functionUrl.url,
      method: 'POST',
      auth: { type: 'aws-iam', region: Stack.of(this).region },
    };
    if (props.timeout !== undefined) endpoint.timeout = props.timeout.toMilliseconds();

    this.registration = props.registrar.register(
      this,
      'Registration',
      { queue: props.queue, endpoint, opts },
      [grant],
    );
  }
}
