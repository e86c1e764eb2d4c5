import { Duration, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { DispatcherService } from '../src/dispatcher-service';
import { BullpenNetwork } from '../src/network';
import { ValkeyReplicationGroup } from '../src/valkey';
import { baseStack, logicalIdOf, templateOf, testApp, type BaseStack } from './support/app';

interface ContainerDefinition {
  Name: string;
  Command: string[];
  StopTimeout: number;
  Environment: { Name: string; Value: unknown }[];
  Secrets: { Name: string; ValueFrom: unknown }[];
}

function dispatcherContainer(template: Template): ContainerDefinition {
  const containers = Object.values(template.findResources('AWS::ECS::TaskDefinition')).flatMap(
    (definition) => definition.Properties.ContainerDefinitions as ContainerDefinition[],
  );
  const container = containers.find((candidate) => candidate.Name === 'dispatcher');
  if (!container) throw new Error('no dispatcher container in the template');
  return container;
}

describe('DispatcherService', () => {
  let base: BaseStack;
  let template: Template;

  beforeAll(() => {
    base = baseStack();
    template = templateOf(base.stack);
  });

  test('stop timeout outlasts the shutdown grace period', () => {
    const container = dispatcherContainer(template);
    const grace = container.Environment.find((variable) => variable.Name === 'SHUTDOWN_GRACE_MS');

    expect(grace?.Value).toBe('25000');
    expect(container.StopTimeout).toBe(35);
    expect(container.StopTimeout * 1000).toBeGreaterThan(Number(grace?.Value));
  });

  test('passes the Redis AUTH token as an ECS secret', () => {
    const container = dispatcherContainer(template);

    expect(container.Secrets).toEqual([
      { Name: 'REDIS_PASSWORD', ValueFrom: { Ref: logicalIdOf(base.stack, base.redis.authToken) } },
    ]);
    expect(container.Environment.map((variable) => variable.Name)).not.toContain('REDIS_PASSWORD');
    expect(container.Environment).toEqual(
      expect.arrayContaining([
        { Name: 'REDIS_TLS', Value: 'true' },
        { Name: 'CLOUDWATCH_METRICS', Value: 'true' },
        { Name: 'SERVICE_NAME', Value: 'Test-dispatcher' },
      ]),
    );
    expect(container.Command).toEqual(['dispatcher']);
  });

  test('runs on ARM64 with a rollback circuit breaker', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: Match.arrayWith([Match.objectLike({ Name: 'dispatcher' })]),
    });
    template.hasResourceProperties('AWS::ECS::Service', {
      TaskDefinition: { Ref: logicalIdOf(base.stack, base.dispatcher.taskDefinition) },
      DeploymentConfiguration: Match.objectLike({
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      }),
    });
  });

  test('scales in steps on the maximum backlog', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 1,
      MaxCapacity: 10,
      ScalableDimension: 'ecs:service:DesiredCount',
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'StepScaling',
      StepScalingPolicyConfiguration: Match.objectLike({
        AdjustmentType: 'ChangeInCapacity',
        StepAdjustments: Match.arrayWith([
          Match.objectLike({ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }),
        ]),
      }),
    });
    const backlogAlarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
      (alarm) =>
        alarm.Properties.MetricName === 'BacklogJobs' &&
        alarm.Properties.AlarmActions !== undefined,
    );

    expect(backlogAlarms.map((alarm) => alarm.Properties.ComparisonOperator).sort()).toEqual([
      'GreaterThanOrEqualToThreshold',
      'LessThanOrEqualToThreshold',
    ]);
    for (const alarm of backlogAlarms) {
      expect(alarm.Properties).toMatchObject({
        Namespace: 'Bullpen',
        Statistic: 'Maximum',
        Dimensions: [{ Name: 'ServiceName', Value: 'Test-dispatcher' }],
      });
    }
  });

  test('rejects a shutdown grace that Fargate cannot wait for', () => {
    expect(() => dispatcherWith({ shutdownGrace: Duration.seconds(115) })).toThrow(
      'Invalid/Dispatcher: shutdownGrace (seconds) must be an integer from 1 to 110; got 115',
    );
  });

  test('rejects zero minimum tasks', () => {
    expect(() => dispatcherWith({ minTasks: 0 })).toThrow(
      'Invalid/Dispatcher: minTasks must be an integer from 1 to 10; got 0',
    );
  });
});

function dispatcherWith(props: { shutdownGrace?: Duration; minTasks?: number }): void {
  const stack = new Stack(testApp(), 'Invalid');
  const { vpc } = new BullpenNetwork(stack, 'Network');
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc });
  const redis = new ValkeyReplicationGroup(stack, 'Valkey', { vpc });
  new DispatcherService(stack, 'Dispatcher', {
    cluster,
    image: ecs.ContainerImage.fromRegistry('bullpen:test'),
    redis,
    publicApiUrl: 'http://api.internal',
    ...props,
  });
}
