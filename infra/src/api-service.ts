import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { assertIntegerInRange } from './errors';
import type { ValkeyReplicationGroup } from './valkey';

export const API_CONTAINER_PORT = 8080;
const LISTENER_PORT = 80;

export interface ApiServiceProps {
  readonly cluster: ecs.ICluster;
  /** Image whose command `api` starts the API. */
  readonly image: ecs.ContainerImage;
  readonly redis: ValkeyReplicationGroup;
  /** IPv4 range allowed to call the load balancer, usually the VPC's. */
  readonly clientCidr: string;
  /**
   * Subnets of the tasks and of the internal load balancer.
   * @default the cluster VPC's private subnets with egress
   */
  readonly subnets?: ec2.SubnetSelection;
  /**
   * BullMQ key prefix; must match the dispatcher's.
   * @default 'bull'
   */
  readonly queuePrefix?: string;
  /**
   * Host names and CIDR ranges that worker registrations may point at despite being in
   * private ranges.
   * @default '' (none)
   */
  readonly endpointAllowlist?: string;
  /** @default 'info' */
  readonly logLevel?: string;
  /** @default 1 */
  readonly desiredCount?: number;
  /** @default 256 */
  readonly cpu?: number;
  /**
   * 1 GB because the API runs with a 64 MiB semi-space (infra/docker/api.node-flags): under
   * 50 concurrent 100-job posts its peak resident memory reached about 425 MB.
   * @default 1024
   */
  readonly memoryLimitMiB?: number;
  /**
   * Lets operators open a shell or a port forwarding session into the API tasks with ECS
   * Exec, the way to reach the internal API from a workstation without a VPN.
   * @default false
   */
  readonly enableExecuteCommand?: boolean;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The API as an ARM64 Fargate service behind an internal Application Load Balancer. Bearer
 * tokens live in a generated Secrets Manager secret passed to the tasks as `AUTH_TOKENS`.
 * The load balancer accepts HTTP from `clientCidr` only.
 */
export class ApiService extends Construct implements ec2.IConnectable {
  readonly service: ecs.FargateService;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** Bearer token clients send as `Authorization: Bearer <token>`. */
  readonly authToken: secretsmanager.Secret;
  /** Base URL of the API inside the VPC. */
  readonly url: string;
  /** The load balancer's connections: allow clients here to let them call the API. */
  readonly connections: ec2.Connections;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ApiServiceProps) {
    super(scope, id);

    const desiredCount = props.desiredCount ?? 1;
    assertIntegerInRange(this, 'desiredCount', desiredCount, 1, 100);
    const subnets = props.subnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };

    this.authToken = new secretsmanager.Secret(this, 'AuthToken', {
      description: 'Bearer token of the Bullpen API',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    Validations.of(this.authToken).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The API reads AUTH_TOKENS at start, so rotation means adding a second token, ' +
        'restarting the tasks and moving clients over; it is an operator runbook, not a ' +
        'rotation function.',
    });

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: props.cpu ?? 256,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.cluster.vpc,
      vpcSubnets: subnets,
      internetFacing: false,
      dropInvalidHeaderFields: true,
    });
    this.url = `http://${this.loadBalancer.loadBalancerDnsName}`;
    this.connections = this.loadBalancer.connections;
    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason:
        'Access logs need an S3 bucket with its own policy and lifecycle; the API logs ' +
        'every request with its id to CloudWatch Logs, which covers the internal traffic.',
    });

    taskDefinition.addContainer('api', {
      image: props.image,
      command: ['api'],
      essential: true,
      portMappings: [{ containerPort: API_CONTAINER_PORT }],
      linuxParameters: new ecs.LinuxParameters(this, 'LinuxParameters', {
        initProcessEnabled: true,
      }),
      environment: {
        ...props.redis.environment,
        PORT: String(API_CONTAINER_PORT),
        QUEUE_PREFIX: props.queuePrefix ?? 'bull',
        ENDPOINT_ALLOWLIST: props.endpointAllowlist ?? '',
        PUBLIC_API_URL: this.url,
        LOG_LEVEL: props.logLevel ?? 'info',
      },
      secrets: {
        ...props.redis.containerSecrets,
        AUTH_TOKENS: ecs.Secret.fromSecretsManager(this.authToken),
      },
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'api', logGroup: this.logGroup }),
    });

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      taskDefinition,
      desiredCount,
      vpcSubnets: subnets,
      assignPublicIp: false,
      circuitBreaker: { enable: true, rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      enableExecuteCommand: props.enableExecuteCommand ?? false,
    });
    props.redis.connections.allowDefaultPortFrom(this.service, 'Bullpen API to Valkey');

    const listener = this.loadBalancer.addListener('Http', {
      port: LISTENER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
    });
    this.targetGroup = listener.addTargets('Api', {
      port: API_CONTAINER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.service],
      healthCheck: {
        path: '/health',
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
        healthyThresholdCount: 2,
      },
      deregistrationDelay: Duration.seconds(15),
    });
    this.loadBalancer.connections.allowFrom(
      ec2.Peer.ipv4(props.clientCidr),
      ec2.Port.tcp(LISTENER_PORT),
      'HTTP from the client range',
    );
  }
}
