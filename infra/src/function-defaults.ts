import { Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';

/** Node.js runtime of every function Bullpen deploys: the newest long-term support line. */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;

const BASIC_EXECUTION_POLICY =
  'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';
const VPC_ACCESS_POLICY =
  'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole';

/**
 * Records why a function keeps its runtime and the managed policies aws-cdk-lib gives its
 * role: basic execution (its own logs) and, in a VPC, network interface management.
 */
export function acknowledgeFunctionDefaults(fn: IConstruct): void {
  Validations.of(fn).acknowledge(
    {
      id: 'AwsSolutions-L1',
      reason:
        'Functions run on nodejs24.x, the newest Node.js long-term support line. aws-cdk-lib ' +
        '2.278 also lists nodejs26.x, which becomes long-term support only in October 2026.',
    },
    {
      id: `AwsSolutions-IAM4[${BASIC_EXECUTION_POLICY}]`,
      reason: 'AWSLambdaBasicExecutionRole only lets the function write its own logs.',
    },
    {
      id: `AwsSolutions-IAM4[${VPC_ACCESS_POLICY}]`,
      reason:
        'AWSLambdaVPCAccessExecutionRole only lets Lambda manage the network interfaces ' +
        'of a function in a VPC; it grants no access to data.',
    },
  );
}
