import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { assertIntegerInRange } from './errors';
import type { ValkeyReplicationGroup } from './valkey';

/** CloudWatch namespace and metric name of the dispatcher's Embedded Metric Format line. */
export const BACKLOG_METRIC_NAMESPACE = 'Bullpen';
export const BACKLOG_METRIC_NAME = 'BacklogJobs';
export const DISPATCHER_METRICS_PORT = 9464;
/** Fargate kills a container at most 120 s after SIGTERM, whatever `stopTimeout` is set to. */
const FARGATE_MAX_STOP_TIMEOUT_SECONDS = 120;
/** Time between the end of the grace period and SIGKILL, for closing Redis and exiting. */
const STOP_MARGIN_SECONDS = 10;

export interface DispatcherServiceProps {
  readonly cluster: ecs.ICluster;
  /** Image whose command `dispatcher` starts the dispatcher. */
  readonly image: ecs.ContainerImage;
  readonly redis: ValkeyReplicationGroup;
  /** API base URL that endpoints call back for progress and logs. */
  readonly publicApiUrl: string;
  /**
   * Subnets of the tasks; they need a route to the internet for HTTP endpoints.
   * @default the cluster VPC's private subnets with egress
   */
  readonly subnets?: ec2.SubnetSelection;
  /**
   * BullMQ key prefix; must match the API's.
   * @default 'bull'
   */
  readonly queuePrefix?: string;
  /**
   * Host names and CIDR ranges that endpoints may use despite pointing at private ranges.
   * @default '' (none)
   */
  readonly endpointAllowlist?: string;
  /** @default 'info' */
  readonly logLevel?: string;
  /**
   * Task CPU units (1024 = 1 vCPU), a Fargate size that fits `memoryLimitMiB`.
   * @default 512
   */
  readonly cpu?: number;
  /** @default 1024 */
  readonly memoryLimitMiB?: number;
  /**
   * Minimum number of tasks. At least 1, because the backlog metric comes from running
   * tasks, so with none there would be nothing to scale out on.
   * @default 1
   */
  readonly minTasks?: number;
  /**
   * Maximum number of tasks.
   * @default 10
   */
  readonly maxTasks?: number;
  /**
   * Backlog (waiting plus prioritized jobs over all queues) at which one task is added;
   * ten times this adds three. A backlog of 0 removes one task.
   * @default 100
   */
  readonly scaleOutBacklogJobs?: number;
  /**
   * How long in-flight calls may finish after SIGTERM (`SHUTDOWN_GRACE_MS`). The container
   * `stopTimeout` is this plus 10 s, and Fargate caps it at 120 s, so calls longer than the
   * grace are cut off and run again after BullMQ's stalled-job check.
   * @default Duration.seconds(25)
   */
  readonly shutdownGrace?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The dispatcher as an ARM64 Fargate service: Redis credentials as ECS secrets, a stop
 * timeout longer than its drain period, a circuit breaker that rolls back a failing
 * deployment, and step scaling on the `BacklogJobs` metric the tasks write.
 */
export class DispatcherService extends Construct implements ec2.IConnectable {
  readonly service: ecs.FargateService;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  readonly logGroup: logs.LogGroup;
  /** Role of the running dispatcher; grant it access to endpoints. */
  readonly taskRole: iam.IRole;
  readonly connections: ec2.Connections;
  /** Value of the `ServiceName` dimension of this service's metrics. */
  readonly metricServiceName: string;
  readonly stopTimeout: Duration;
  readonly scaling: ecs.ScalableTaskCount;

  constructor(scope: Construct, id: string, props: DispatcherServiceProps) {
    super(scope, id);

    const minTasks = props.minTasks ?? 1;
    const maxTasks = props.maxTasks ?? 10;
    const scaleOutBacklogJobs = props.scaleOutBacklogJobs ?? 100;
    const shutdownGrace = props.shutdownGrace ?? Duration.seconds(25);
    assertIntegerInRange(this, 'maxTasks', maxTasks, 1, 1000);
    assertIntegerInRange(this, 'minTasks', minTasks, 1, maxTasks);
    assertIntegerInRange(this, 'scaleOutBacklogJobs', scaleOutBacklogJobs, 1, 10_000_000);
    assertIntegerInRange(
      this,
      'shutdownGrace (seconds)',
      shutdownGrace.toSeconds(),
      1,
      FARGATE_MAX_STOP_TIMEOUT_SECONDS - STOP_MARGIN_SECONDS,
    );
    this.stopTimeout = Duration.seconds(shutdownGrace.toSeconds() + STOP_MARGIN_SECONDS);
    this.metricServiceName = `${Stack.of(this).stackName}-dispatcher`;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    this.taskRole = this.taskDefinition.taskRole;

    this.container = this.taskDefinition.addContainer('dispatcher', {
      image: props.image,
      command: ['dispatcher'],
      essential: true,
      stopTimeout: this.stopTimeout,
      // tini as PID 1 forwards SIGTERM to node and reaps children.
      linuxParameters: new ecs.LinuxParameters(this, 'LinuxParameters', {
        initProcessEnabled: true,
      }),
      environment: {
        ...props.redis.environment,
        QUEUE_PREFIX: props.queuePrefix ?? 'bull',
        ENDPOINT_ALLOWLIST: props.endpointAllowlist ?? '',
        PUBLIC_API_URL: props.publicApiUrl,
        LOG_LEVEL: props.logLevel ?? 'info',
        METRICS_PORT: String(DISPATCHER_METRICS_PORT),
        SHUTDOWN_GRACE_MS: String(shutdownGrace.toMilliseconds()),
        CLOUDWATCH_METRICS: 'true',
        SERVICE_NAME: this.metricServiceName,
        AWS_REGION: Stack.of(this).region,
      },
      secrets: props.redis.containerSecrets,
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'dispatcher', logGroup: this.logGroup }),
      healthCheck: {
        command: [
          'CMD',
          'node',
          '-e',
          `fetch('http://127.0.0.1:${DISPATCHER_METRICS_PORT}/health')` +
            '.then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))',
        ],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(30),
      },
    });

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: minTasks,
      vpcSubnets: props.subnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
      circuitBreaker: { enable: true, rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
    });
    this.connections = this.service.connections;
    props.redis.connections.allowDefaultPortFrom(this.service, 'Bullpen dispatcher to Valkey');

    this.scaling = this.service.autoScaleTaskCount({
      minCapacity: minTasks,
      maxCapacity: maxTasks,
    });
    this.scaling.scaleOnMetric('BacklogScaling', {
      metric: this.metricBacklog(),
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      scalingSteps: [
        { upper: 0, change: -1 },
        { lower: scaleOutBacklogJobs, change: +1 },
        { lower: scaleOutBacklogJobs * 10, change: +3 },
      ],
      cooldown: Duration.minutes(2),
      evaluationPeriods: 2,
    });
  }

  /**
   * Waiting plus prioritized jobs over all registered queues. Every task writes the same
   * total, so the Maximum over tasks is the backlog rather than a multiple of it.
   */
  metricBacklog(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: BACKLOG_METRIC_NAMESPACE,
      metricName: BACKLOG_METRIC_NAME,
      dimensionsMap: { ServiceName: this.metricServiceName },
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(1),
      ...props,
    });
  }
}
