import type { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { FunctionUrlWorker } from '../src/function-url-worker';
import { WORKER_REGISTRATION_RESOURCE_TYPE } from '../src/worker-registrar';
import {
  baseStack,
  logicalIdOf,
  parseJoinedJson,
  permissionsOf,
  statementsOfRole,
  templateOf,
  type BaseStack,
} from './support/app';

describe('FunctionUrlWorker', () => {
  let base: BaseStack;
  let template: Template;
  let statsFn: lambda.Function;
  let statsUrl: lambda.FunctionUrl;

  beforeAll(() => {
    base = baseStack();
    statsFn = new lambda.Function(base.stack, 'StatsFunction', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200 });'),
    });
    statsUrl = statsFn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
    new FunctionUrlWorker(base.stack, 'StatsWorker', {
      queue: 'stats',
      function: statsFn,
      functionUrl: statsUrl,
      dispatcher: base.dispatcher.taskRole,
      registrar: base.registrar,
    });
    template = templateOf(base.stack);
  });

  test('grants URL invoke on exactly the function, for IAM-authenticated URL calls', () => {
    const roleId = logicalIdOf(base.stack, base.dispatcher.taskRole);
    const functionArn = { 'Fn::GetAtt': [logicalIdOf(base.stack, statsFn), 'Arn'] };

    expect(permissionsOf(statementsOfRole(template, roleId))).toEqual([
      {
        action: 'lambda:InvokeFunction',
        resource: functionArn,
        condition: { Bool: { 'lambda:InvokedViaFunctionUrl': true } },
      },
      {
        action: 'lambda:InvokeFunctionUrl',
        resource: functionArn,
        condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
      },
    ]);
  });

  test('registers a SigV4-signed HTTP endpoint', () => {
    const registration = Object.values(
      template.findResources(WORKER_REGISTRATION_RESOURCE_TYPE),
    )[0];

    expect(parseJoinedJson(registration?.Properties.Registration)).toEqual({
      queue: 'stats',
      endpoint: {
        url: `${logicalIdOf(base.stack, statsUrl)}.FunctionUrl`,
        method: 'POST',
        auth: { type: 'aws-iam', region: 'AWS::Region' },
      },
      opts: {},
    });
  });
});
