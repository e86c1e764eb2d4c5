import type { Template } from 'aws-cdk-lib/assertions';
import { BullpenAlarms } from '../src/alarms';
import { baseStack, logicalIdOf, templateOf, type BaseStack } from './support/app';

describe('BullpenAlarms', () => {
  let base: BaseStack;
  let alarms: BullpenAlarms;
  let template: Template;

  beforeAll(() => {
    base = baseStack();
    alarms = new BullpenAlarms(base.stack, 'Alarms', {
      dispatcher: base.dispatcher,
      api: base.api,
      redis: base.redis,
      minDispatcherTasks: 1,
    });
    template = templateOf(base.stack);
  });

  function alarmProperties(alarm: { node: { defaultChild?: unknown } }): Record<string, unknown> {
    const id = logicalIdOf(base.stack, alarm as never);
    return template.findResources('AWS::CloudWatch::Alarm')[id]?.Properties;
  }

  test('counts failed attempts from the dispatcher logs', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: logicalIdOf(base.stack, base.dispatcher.logGroup) },
      FilterPattern: '{ ($.outcome = "failed") || ($.outcome = "unrecoverable") }',
      MetricTransformations: [
        {
          MetricName: 'FailedJobAttempts',
          MetricNamespace: 'Bullpen/Test',
          MetricValue: '1',
          Unit: 'Count',
        },
      ],
    });
    expect(alarmProperties(alarms.failedJobAttempts)).toMatchObject({
      MetricName: 'FailedJobAttempts',
      Threshold: 10,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  test('fires when dispatcher tasks are missing or silent', () => {
    expect(alarmProperties(alarms.dispatcherRunningTasks)).toMatchObject({
      Namespace: 'ECS/ContainerInsights',
      MetricName: 'RunningTaskCount',
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    expect(alarmProperties(alarms.dispatcherNotReporting)).toMatchObject({
      MetricName: 'BacklogJobs',
      Statistic: 'SampleCount',
      TreatMissingData: 'breaching',
    });
    expect(alarmProperties(alarms.apiUnhealthyTargets)).toMatchObject({
      MetricName: 'UnHealthyHostCount',
      Namespace: 'AWS/ApplicationELB',
    });
  });

  test('watches the memory of every Valkey node', () => {
    const metrics = alarmProperties(alarms.redisMemory).Metrics as {
      Expression?: string;
      MetricStat?: { Metric: { MetricName: string; Dimensions: { Value: string }[] } };
    }[];
    const expression = metrics.find((metric) => metric.Expression !== undefined);
    const nodes = metrics.flatMap((metric) =>
      metric.MetricStat ? [metric.MetricStat.Metric.Dimensions[0]?.Value] : [],
    );

    expect(expression?.Expression).toBe('MAX([node0, node1])');
    expect(nodes).toEqual(base.redis.nodeIds);
    expect(alarmProperties(alarms.redisMemory)).toMatchObject({ Threshold: 80 });
  });
});
