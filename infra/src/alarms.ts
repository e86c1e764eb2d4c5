import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { ApiService } from './api-service';
import type { DispatcherService } from './dispatcher-service';
import { assertIntegerInRange } from './errors';
import type { ValkeyReplicationGroup } from './valkey';

export interface BullpenAlarmsProps {
  readonly dispatcher: DispatcherService;
  readonly api: ApiService;
  readonly redis: ValkeyReplicationGroup;
  /** Minimum number of dispatcher tasks. Fewer for three minutes raises an alarm. */
  readonly minDispatcherTasks: number;
  /**
   * Failed job attempts in five minutes that raise an alarm.
   * @default 10
   */
  readonly failedJobAttemptsThreshold?: number;
  /**
   * Valkey memory use, in percent of `maxmemory`, that raises an alarm. With `noeviction`
   * Valkey rejects writes at 100 %, so adding jobs then fails.
   * @default 80
   */
  readonly redisMemoryPercentThreshold?: number;
  /**
   * Actions of each alarm when it fires and when it clears, such as an SNS topic action.
   * @default no actions; the alarms show in the CloudWatch console
   */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
}

/**
 * Alarms of a Bullpen deployment: failed job attempts, dispatcher tasks missing or not
 * reporting, API targets unhealthy, and Valkey memory running out.
 */
export class BullpenAlarms extends Construct {
  readonly failedJobAttempts: cloudwatch.Alarm;
  readonly dispatcherRunningTasks: cloudwatch.Alarm;
  readonly dispatcherNotReporting: cloudwatch.Alarm;
  readonly apiUnhealthyTargets: cloudwatch.Alarm;
  readonly redisMemory: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: BullpenAlarmsProps) {
    super(scope, id);

    const failedThreshold = props.failedJobAttemptsThreshold ?? 10;
    const memoryThreshold = props.redisMemoryPercentThreshold ?? 80;
    assertIntegerInRange(this, 'failedJobAttemptsThreshold', failedThreshold, 1, 1_000_000);
    assertIntegerInRange(this, 'redisMemoryPercentThreshold', memoryThreshold, 1, 99);
    const stackName = Stack.of(this).stackName;

    // The dispatcher logs every failed attempt with `outcome` "failed", or "unrecoverable"
    // when no attempt is left to make.
    const failedAttempts = new logs.MetricFilter(this, 'FailedJobAttemptsFilter', {
      logGroup: props.dispatcher.logGroup,
      filterPattern: logs.FilterPattern.any(
        logs.FilterPattern.stringValue('$.outcome', '=', 'failed'),
        logs.FilterPattern.stringValue('$.outcome', '=', 'unrecoverable'),
      ),
      metricNamespace: `Bullpen/${stackName}`,
      metricName: 'FailedJobAttempts',
      metricValue: '1',
      unit: cloudwatch.Unit.COUNT,
    });
    this.failedJobAttempts = failedAttempts
      .metric({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) })
      .createAlarm(this, 'FailedJobAttempts', {
        alarmDescription: `${failedThreshold} or more job attempts failed in five minutes.`,
        threshold: failedThreshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

    this.dispatcherRunningTasks = new cloudwatch.Metric({
      namespace: 'ECS/ContainerInsights',
      metricName: 'RunningTaskCount',
      dimensionsMap: {
        ClusterName: props.dispatcher.service.cluster.clusterName,
        ServiceName: props.dispatcher.service.serviceName,
      },
      statistic: cloudwatch.Stats.MINIMUM,
      period: Duration.minutes(1),
    }).createAlarm(this, 'DispatcherRunningTasks', {
      alarmDescription:
        `Fewer than ${props.minDispatcherTasks} dispatcher tasks ran for three minutes; ` +
        'check the service events for failing health checks or task start errors.',
      threshold: props.minDispatcherTasks,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    // Every healthy task writes the backlog once a minute, even when it is 0, so a gap
    // means no task is working.
    this.dispatcherNotReporting = props.dispatcher
      .metricBacklog({ statistic: cloudwatch.Stats.SAMPLE_COUNT, period: Duration.minutes(5) })
      .createAlarm(this, 'DispatcherNotReporting', {
        alarmDescription:
          'No dispatcher task wrote the BacklogJobs metric for five minutes; the tasks are ' +
          'down or cannot reach Valkey.',
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });

    this.apiUnhealthyTargets = props.api.targetGroup.metrics
      .unhealthyHostCount({ statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(1) })
      .createAlarm(this, 'ApiUnhealthyTargets', {
        alarmDescription: 'An API task failed its GET /health check for three minutes.',
        threshold: 1,
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

    const usingMetrics = Object.fromEntries(
      props.redis.nodeIds.map((nodeId, index) => [
        `node${index}`,
        new cloudwatch.Metric({
          namespace: 'AWS/ElastiCache',
          metricName: 'DatabaseMemoryUsagePercentage',
          dimensionsMap: { CacheClusterId: nodeId },
          statistic: cloudwatch.Stats.MAXIMUM,
          period: Duration.minutes(1),
        }),
      ]),
    );
    this.redisMemory = new cloudwatch.MathExpression({
      expression: `MAX([${Object.keys(usingMetrics).join(', ')}])`,
      usingMetrics,
      label: 'Valkey memory used (% of maxmemory), highest node',
      period: Duration.minutes(1),
    }).createAlarm(this, 'RedisMemory', {
      alarmDescription:
        `Valkey memory use reached ${memoryThreshold} %; at 100 % it rejects new jobs, ` +
        'because keys are never evicted. Remove finished jobs or use a larger node type.',
      threshold: memoryThreshold,
      evaluationPeriods: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
    });

    for (const alarm of [
      this.failedJobAttempts,
      this.dispatcherRunningTasks,
      this.dispatcherNotReporting,
      this.apiUnhealthyTargets,
      this.redisMemory,
    ]) {
      alarm.addAlarmAction(...(props.alarmActions ?? []));
      alarm.addOkAction(...(props.alarmActions ?? []));
    }
  }
}
