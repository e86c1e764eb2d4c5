import fs from 'node:fs';
import path from 'node:path';
import { CfnResource, Stack, Validations, type App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { BullpenStack } from '../src/bullpen-stack';
import {
  cdkJsonContext,
  lambdaStatements,
  logicalIdOf,
  permissionsOf,
  statementsOfRole,
  testApp,
} from './support/app';

const VALIDATE_TEMPLATES_FLAG = '@aws-cdk/core:validateAgainstDefaultRules';

/** Builds an app as `cdk synth` does, with the AWS Solutions checks registered. */
function nagCheckedApp(build: (app: App) => void): App {
  const app = testApp();
  build(app);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return app;
}

describe('BullpenStack synthesis', () => {
  let app: App;
  let stack: BullpenStack;
  let template: Template;

  // One synthesis for the whole file: bundling and validation take seconds.
  beforeAll(() => {
    app = nagCheckedApp((scope) => {
      stack = new BullpenStack(scope, 'Bullpen');
    });
    app.synth();
    template = Template.fromStack(stack);
  });

  test('cdk.json turns template validation findings into errors', () => {
    expect(cdkJsonContext()[VALIDATE_TEMPLATES_FLAG]).toBe(true);
    expect(app.node.tryGetContext(VALIDATE_TEMPLATES_FLAG)).toBe(true);
  });

  test('leaves no unacknowledged finding in the validation report', () => {
    const report = JSON.parse(
      fs.readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8'),
    ) as { pluginReports: { violations?: unknown[] }[] };

    expect(report.pluginReports.flatMap((plugin) => plugin.violations ?? [])).toEqual([]);
  });

  test('every acknowledged finding carries a reason', () => {
    const acknowledgments = app.node
      .findAll()
      .flatMap((construct) => construct.node.metadata)
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>));

    const withoutReason = acknowledgments
      .filter(([, reason]) => reason.trim().length < 40)
      .map(([ruleId]) => ruleId);

    expect(acknowledgments.length).toBeGreaterThan(0);
    expect(withoutReason).toEqual([]);
  });

  test('dispatcher may invoke only the example functions', () => {
    const roleId = logicalIdOf(stack, stack.dispatcher.taskRole);
    const permissions = permissionsOf(lambdaStatements(statementsOfRole(template, roleId)));
    const csvArn = { 'Fn::GetAtt': [logicalIdOf(stack, stack.examples!.csvReport), 'Arn'] };
    const textArn = { 'Fn::GetAtt': [logicalIdOf(stack, stack.examples!.textStats), 'Arn'] };

    expect(permissions.map(({ action, resource }) => ({ action, resource }))).toEqual(
      expect.arrayContaining([
        { action: 'lambda:InvokeFunction', resource: csvArn },
        { action: 'lambda:GetFunctionConfiguration', resource: csvArn },
        { action: 'lambda:InvokeFunctionUrl', resource: textArn },
        { action: 'lambda:InvokeFunction', resource: textArn },
      ]),
    );
    expect(permissions).toHaveLength(4);
    for (const { resource } of permissions) {
      expect(JSON.stringify(resource)).not.toContain('*');
    }
  });

  test('Valkey admits only the dispatcher and API security groups', () => {
    const redisGroupId = logicalIdOf(stack, stack.redis.securityGroup);
    const sources = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'))
      .filter((rule) => rule.Properties.GroupId['Fn::GetAtt']?.[0] === redisGroupId)
      .map((rule) => rule.Properties.SourceSecurityGroupId['Fn::GetAtt'][0] as string);

    expect(sources.sort()).toEqual(
      [
        logicalIdOf(stack, stack.dispatcher.connections.securityGroups[0]!),
        logicalIdOf(stack, stack.api.service.connections.securityGroups[0]!),
      ].sort(),
    );
  });

  test('Valkey encrypts in transit and at rest and never evicts', () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      TransitEncryptionEnabled: true,
      AtRestEncryptionEnabled: true,
      MultiAZEnabled: true,
    });
    template.hasResourceProperties('AWS::ElastiCache::ParameterGroup', {
      Properties: { 'maxmemory-policy': 'noeviction' },
    });
  });

  test('dispatcher scales on the backlog and drains before it is killed', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'StepScaling',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Bullpen',
      MetricName: 'BacklogJobs',
      Statistic: 'Maximum',
      Dimensions: [{ Name: 'ServiceName', Value: 'Bullpen-dispatcher' }],
      AlarmActions: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'dispatcher',
          StopTimeout: 35,
          Environment: Match.arrayWith([{ Name: 'SHUTDOWN_GRACE_MS', Value: '25000' }]),
        }),
      ],
    });
  });

  test('registers both example workers', () => {
    template.resourceCountIs('Custom::BullpenWorker', 2);
  });
});

describe('synthesis checks', () => {
  test('cdk-nag fails synthesis on an unacknowledged finding', () => {
    const app = nagCheckedApp((scope) => {
      // A queue without a dead-letter queue or an SSL-only policy breaks AwsSolutions-SQS3/4.
      new sqs.Queue(new Stack(scope, 'Unchecked'), 'Queue');
    });

    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
  });

  test('template validation fails synthesis on an invalid property', () => {
    const app = testApp();
    const stack = new Stack(app, 'Invalid');
    new CfnResource(stack, 'Queue', {
      type: 'AWS::SQS::Queue',
      properties: { VisibilityTimeout: 'not-a-number' },
    });

    expect(() => app.synth()).toThrow(/VisibilityTimeout: 'not-a-number' is not of type/);
  });
});
