import { CfnOutput, IgnoreMode, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';
import { BullpenAlarms } from './alarms';
import { ApiService } from './api-service';
import { DispatcherService } from './dispatcher-service';
import { ExampleFunctions } from './example-functions';
import { FunctionUrlWorker } from './function-url-worker';
import { LambdaWorker } from './lambda-worker';
import { BullpenNetwork } from './network';
import { REPO_ROOT } from './paths';
import { ValkeyReplicationGroup } from './valkey';
import { WorkerRegistrar } from './worker-registrar';

export interface BullpenStackProps extends StackProps {
  /** @default 1 */
  readonly natGateways?: number;
  /** @default 'cache.t4g.micro' */
  readonly redisNodeType?: string;
  /** @default 1 */
  readonly minDispatcherTasks?: number;
  /** @default 10 */
  readonly maxDispatcherTasks?: number;
  /**
   * Turns on ECS Exec for the API tasks, to reach the internal API through a port
   * forwarding session.
   * @default false
   */
  readonly enableApiExecuteCommand?: boolean;
  /**
   * Deploys the example functions and registers their workers (`csv-report` over the
   * Invoke API, `text-stats` over a Function URL).
   * @default true
   */
  readonly withExamples?: boolean;
  /** @default no alarm actions */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
}

/**
 * A complete Bullpen deployment: network, Valkey, the API behind an internal load
 * balancer, the dispatcher, the example functions with their workers, and alarms.
 */
export class BullpenStack extends Stack {
  readonly network: BullpenNetwork;
  readonly redis: ValkeyReplicationGroup;
  readonly api: ApiService;
  readonly dispatcher: DispatcherService;
  readonly registrar: WorkerRegistrar;
  readonly examples?: ExampleFunctions;
  readonly alarms: BullpenAlarms;

  constructor(scope: Construct, id: string, props: BullpenStackProps = {}) {
    super(scope, id, props);

    const minDispatcherTasks = props.minDispatcherTasks ?? 1;

    this.network = new BullpenNetwork(this, 'Network', { natGateways: props.natGateways });
    const vpc = this.network.vpc;

    this.redis = new ValkeyReplicationGroup(this, 'Valkey', {
      vpc,
      subnets: this.network.dataSubnets,
      nodeType: props.redisNodeType,
    });

    const cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    // One image for both services; its command picks which one runs.
    const image = ecs.ContainerImage.fromAsset(REPO_ROOT, {
      file: 'Dockerfile',
      platform: Platform.LINUX_ARM64,
      ignoreMode: IgnoreMode.DOCKER,
    });

    this.api = new ApiService(this, 'Api', {
      cluster,
      image,
      redis: this.redis,
      clientCidr: this.network.cidr,
      subnets: this.network.serviceSubnets,
      enableExecuteCommand: props.enableApiExecuteCommand,
    });

    this.dispatcher = new DispatcherService(this, 'Dispatcher', {
      cluster,
      image,
      redis: this.redis,
      publicApiUrl: this.api.url,
      subnets: this.network.serviceSubnets,
      minTasks: minDispatcherTasks,
      maxTasks: props.maxDispatcherTasks,
    });

    this.registrar = new WorkerRegistrar(this, 'WorkerRegistrar', {
      api: this.api,
      vpc,
      subnets: this.network.serviceSubnets,
    });

    if (props.withExamples ?? true) {
      this.examples = this.addExamples();
    }

    this.alarms = new BullpenAlarms(this, 'Alarms', {
      dispatcher: this.dispatcher,
      api: this.api,
      redis: this.redis,
      minDispatcherTasks,
      alarmActions: props.alarmActions,
    });

    this.addOutputs();
    this.acknowledgeStackFindings();
  }

  private addExamples(): ExampleFunctions {
    const examples = new ExampleFunctions(this, 'Examples', {
      vpc: this.network.vpc,
      subnets: this.network.serviceSubnets,
    });
    new LambdaWorker(this, 'CsvReportWorker', {
      queue: 'csv-report',
      function: examples.csvReport,
      dispatcher: this.dispatcher.taskRole,
      registrar: this.registrar,
      options: { concurrency: 5 },
    });
    new FunctionUrlWorker(this, 'TextStatsWorker', {
      queue: 'text-stats',
      function: examples.textStats,
      functionUrl: examples.textStatsUrl,
      dispatcher: this.dispatcher.taskRole,
      registrar: this.registrar,
      options: { concurrency: 5 },
    });
    new CfnOutput(this, 'CsvReportFunctionName', { value: examples.csvReport.functionName });
    new CfnOutput(this, 'TextStatsFunctionUrl', { value: examples.textStatsUrl.url });
    return examples;
  }

  private addOutputs(): void {
    new CfnOutput(this, 'ApiUrl', {
      value: this.api.url,
      description: 'Base URL of the API, reachable from inside the VPC',
    });
    new CfnOutput(this, 'ApiTokenSecretArn', {
      value: this.api.authToken.secretArn,
      description: 'Secret holding the API bearer token',
    });
    new CfnOutput(this, 'ClusterName', { value: this.api.service.cluster.clusterName });
    new CfnOutput(this, 'ApiServiceName', { value: this.api.service.serviceName });
    new CfnOutput(this, 'DispatcherLogGroup', { value: this.dispatcher.logGroup.logGroupName });
  }

  private acknowledgeStackFindings(): void {
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The plain environment variables hold only non-secret settings (endpoints, ports, ' +
        'prefixes, log level); the Redis AUTH token and API tokens are ECS secrets.',
    });
    for (const taskDefinition of [
      this.api.service.taskDefinition,
      this.dispatcher.taskDefinition,
    ]) {
      Validations.of(taskDefinition).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'The execution role needs ecr:GetAuthorizationToken, which has no resource scope, ' +
          'to pull the image; aws-cdk-lib adds it.',
      });
    }
  }
}
