import { Duration } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LambdaWorker, type LambdaWorkerProps } from '../src/lambda-worker';
import { WORKER_REGISTRATION_RESOURCE_TYPE } from '../src/worker-registrar';
import {
  baseStack,
  lambdaStatements,
  logicalIdOf,
  parseJoinedJson,
  permissionsOf,
  resourcesOf,
  statementsOfRole,
  templateOf,
  type BaseStack,
} from './support/app';

function inlineFunction(base: BaseStack, id: string): lambda.Function {
  return new lambda.Function(base.stack, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({});'),
  });
}

describe('LambdaWorker', () => {
  let base: BaseStack;
  let template: Template;
  let reportFn: lambda.Function;

  beforeAll(() => {
    base = baseStack();
    reportFn = inlineFunction(base, 'ReportFunction');
    inlineFunction(base, 'UnrelatedFunction');
    new LambdaWorker(base.stack, 'ReportWorker', {
      queue: 'reports',
      function: reportFn,
      dispatcher: base.dispatcher.taskRole,
      registrar: base.registrar,
      timeout: Duration.minutes(2),
      options: {
        concurrency: 5,
        limiter: { max: 10, duration: Duration.seconds(1) },
        removeOnComplete: { count: 100, age: Duration.days(1) },
      },
    });
    template = templateOf(base.stack);
  });

  test('grants invoke on exactly the declared function', () => {
    const roleId = logicalIdOf(base.stack, base.dispatcher.taskRole);
    const statements = lambdaStatements(statementsOfRole(template, roleId));
    const functionArn = { 'Fn::GetAtt': [logicalIdOf(base.stack, reportFn), 'Arn'] };

    expect(permissionsOf(statements)).toEqual([
      { action: 'lambda:GetFunctionConfiguration', resource: functionArn },
      { action: 'lambda:InvokeFunction', resource: functionArn },
    ]);
    for (const resource of statements.flatMap(resourcesOf)) {
      expect(JSON.stringify(resource)).not.toContain('*');
    }
  });

  test('registers the worker body at deploy time', () => {
    const registrations = Object.values(template.findResources(WORKER_REGISTRATION_RESOURCE_TYPE));
    expect(registrations).toHaveLength(1);

    expect(parseJoinedJson(registrations[0]?.Properties.Registration)).toEqual({
      queue: 'reports',
      endpoint: {
        type: 'lambda',
        functionName: `${logicalIdOf(base.stack, reportFn)}.Arn`,
        timeout: 120_000,
      },
      opts: {
        concurrency: 5,
        limiter: { max: 10, duration: 1000 },
        removeOnComplete: { count: 100, age: 86_400 },
      },
    });
  });

  test('registers only after the API service and the grants exist', () => {
    const registration = Object.values(
      template.findResources(WORKER_REGISTRATION_RESOURCE_TYPE),
    )[0];
    const dependsOn = registration?.DependsOn as string[];

    expect(dependsOn).toContain(logicalIdOf(base.stack, base.api.service));
    expect(
      dependsOn.some((id) => id.startsWith('DispatcherTaskDefinitionTaskRoleDefaultPolicy')),
    ).toBe(true);
  });

  test('registrar reads only the API token secret', () => {
    const roleId = logicalIdOf(base.stack, base.registrar.handler.role!);
    const statements = statementsOfRole(template, roleId);

    const secret = { Ref: logicalIdOf(base.stack, base.api.authToken) };

    expect(permissionsOf(statements)).toEqual([
      { action: 'secretsmanager:DescribeSecret', resource: secret },
      { action: 'secretsmanager:GetSecretValue', resource: secret },
    ]);
  });
});

describe('LambdaWorker validation', () => {
  const cases: [string, Partial<LambdaWorkerProps>, string | RegExp][] = [
    [
      'concurrency 0',
      { options: { concurrency: 0 } },
      'options.concurrency must be an integer from 1 to 1000; got 0',
    ],
    [
      'concurrency 1001',
      { options: { concurrency: 1001 } },
      'options.concurrency must be an integer from 1 to 1000; got 1001',
    ],
    ['a queue name with a colon', { queue: 'a:b' }, 'queue must not contain ":"; got "a:b"'],
    ['an empty queue name', { queue: '' }, 'queue must not be empty; got ""'],
    [
      'a timeout over 15 minutes',
      { timeout: Duration.minutes(16) },
      'timeout (milliseconds) must be an integer from 1 to 900000; got 960000',
    ],
    [
      'a qualifier with a slash',
      { qualifier: 'live/1' },
      /qualifier must be \$LATEST.*got "live\/1"/,
    ],
    [
      'keep-jobs without count or age',
      { options: { removeOnFail: {} } },
      'options.removeOnFail must set count or age; got neither',
    ],
  ];

  test.each(cases)('rejects %s', (_name, overrides, message) => {
    const base = baseStack();
    const fn = inlineFunction(base, 'Fn');
    expect(
      () =>
        new LambdaWorker(base.stack, 'Worker', {
          queue: 'reports',
          function: fn,
          dispatcher: base.dispatcher.taskRole,
          registrar: base.registrar,
          ...overrides,
        }),
    ).toThrow(message);
  });

  test('qualifier narrows the invoke grant to the alias', () => {
    const base = baseStack();
    const fn = inlineFunction(base, 'Fn');
    new LambdaWorker(base.stack, 'Worker', {
      queue: 'reports',
      function: fn,
      dispatcher: base.dispatcher.taskRole,
      registrar: base.registrar,
      qualifier: 'live',
    });
    const template = templateOf(base.stack);
    const roleId = logicalIdOf(base.stack, base.dispatcher.taskRole);
    const invoke = permissionsOf(statementsOfRole(template, roleId)).find(
      (permission) => permission.action === 'lambda:InvokeFunction',
    );

    expect(invoke?.resource).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalIdOf(base.stack, fn), 'Arn'] }, ':live']],
    });
  });
});
