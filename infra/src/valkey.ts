import { Names, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { assertIntegerInRange, InfraValidationError } from './errors';

export const VALKEY_PORT = 6379;

export interface ValkeyReplicationGroupProps {
  readonly vpc: ec2.IVpc;
  /**
   * Subnets of the nodes, in at least two availability zones.
   * @default the VPC's isolated subnets
   */
  readonly subnets?: ec2.SubnetSelection;
  /**
   * Node type of the primary and each replica.
   * @default 'cache.t4g.micro'
   */
  readonly nodeType?: string;
  /**
   * Read replicas next to the primary; Multi-AZ failover needs at least one.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Valkey engine version; the parameter group family follows its major version.
   * @default '8.0'
   */
  readonly engineVersion?: string;
  /**
   * Daily snapshots to keep; 0 turns snapshots off. Queues are state worth restoring.
   * @default 1
   */
  readonly snapshotRetentionDays?: number;
  /**
   * Replication group id; the node ids `<id>-001`, `<id>-002` and so on follow from it, and
   * the memory alarm needs them at synth time.
   * @default a name derived from the construct path
   */
  readonly replicationGroupId?: string;
}

const REPLICATION_GROUP_ID_PATTERN = /^[a-z](?!.*--)[a-z0-9-]{0,38}[a-z0-9]$/;

/**
 * An ElastiCache Valkey replication group for BullMQ: Multi-AZ with automatic failover,
 * TLS in transit, encryption at rest, an AUTH token kept in Secrets Manager, and
 * `maxmemory-policy noeviction`, because BullMQ loses jobs when Redis evicts keys.
 *
 * Cluster mode stays disabled so the services connect to one primary endpoint with a plain
 * Redis client. Nothing reaches the nodes until `connections.allowDefaultPortFrom()` is
 * called for a client.
 */
export class ValkeyReplicationGroup extends Construct implements ec2.IConnectable {
  readonly connections: ec2.Connections;
  readonly securityGroup: ec2.SecurityGroup;
  readonly authToken: secretsmanager.Secret;
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  readonly parameterGroup: elasticache.CfnParameterGroup;
  readonly replicationGroupId: string;
  /** Ids of the primary and replica nodes, the `CacheClusterId` of their metrics. */
  readonly nodeIds: readonly string[];
  readonly host: string;
  readonly port: string;

  constructor(scope: Construct, id: string, props: ValkeyReplicationGroupProps) {
    super(scope, id);

    const replicas = props.replicas ?? 1;
    const snapshotRetentionDays = props.snapshotRetentionDays ?? 1;
    const engineVersion = props.engineVersion ?? '8.0';
    assertIntegerInRange(this, 'replicas', replicas, 1, 5);
    assertIntegerInRange(this, 'snapshotRetentionDays', snapshotRetentionDays, 0, 35);
    const engineMajor = /^(\d+)\.\d+$/.exec(engineVersion)?.[1];
    if (engineMajor === undefined || Number(engineMajor) < 7) {
      throw new InfraValidationError(
        this,
        'engineVersion',
        `must be a Valkey version "<major>.<minor>" from 7.2 on, such as "8.0"; got "${engineVersion}"`,
      );
    }
    this.replicationGroupId = props.replicationGroupId ?? this.defaultReplicationGroupId();
    if (
      !Token.isUnresolved(this.replicationGroupId) &&
      !REPLICATION_GROUP_ID_PATTERN.test(this.replicationGroupId)
    ) {
      throw new InfraValidationError(
        this,
        'replicationGroupId',
        'must be 2 to 40 lower-case letters, digits and single hyphens, starting with a ' +
          `letter and not ending with a hyphen; got "${this.replicationGroupId}"`,
      );
    }
    this.nodeIds = Array.from(
      { length: replicas + 1 },
      (_, index) => `${this.replicationGroupId}-${String(index + 1).padStart(3, '0')}`,
    );

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Valkey nodes: Redis port open only to the Bullpen services',
      allowAllOutbound: false,
    });
    this.connections = new ec2.Connections({
      securityGroups: [this.securityGroup],
      defaultPort: ec2.Port.tcp(VALKEY_PORT),
    });

    this.authToken = new secretsmanager.Secret(this, 'AuthToken', {
      description: 'AUTH token of the Bullpen Valkey replication group',
      // ElastiCache accepts 16 to 128 printable characters but not every punctuation mark.
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(this.authToken).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating an ElastiCache AUTH token needs a ROTATE then SET modification of the ' +
        'replication group and a restart of every client; it is a manual runbook step, ' +
        'not a Secrets Manager rotation function.',
    });

    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      description: 'Subnets of the Bullpen Valkey nodes',
      subnetIds: props.vpc.selectSubnets(
        props.subnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      ).subnetIds,
    });

    this.parameterGroup = new elasticache.CfnParameterGroup(this, 'Parameters', {
      cacheParameterGroupFamily: `valkey${engineMajor}`,
      description: 'Bullpen: BullMQ requires noeviction',
      properties: { 'maxmemory-policy': 'noeviction' },
    });

    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'Resource', {
      replicationGroupId: this.replicationGroupId,
      replicationGroupDescription: 'Bullpen queues and worker registry',
      engine: 'valkey',
      engineVersion,
      cacheNodeType: props.nodeType ?? 'cache.t4g.micro',
      numCacheClusters: replicas + 1,
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      authToken: this.authToken.secretValue.unsafeUnwrap(),
      port: VALKEY_PORT,
      cacheParameterGroupName: this.parameterGroup.ref,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      snapshotRetentionLimit: snapshotRetentionDays,
      autoMinorVersionUpgrade: true,
    });
    Validations.of(this.replicationGroup).acknowledge({
      id: 'AwsSolutions-AEC5',
      reason:
        'A non-default port hides nothing from a client inside the VPC; access is limited ' +
        'by the security group, the AUTH token and TLS instead.',
    });

    this.host = this.replicationGroup.attrPrimaryEndPointAddress;
    this.port = this.replicationGroup.attrPrimaryEndPointPort;
  }

  /** Variables that point a Bullpen service at the primary endpoint over TLS. */
  get environment(): Record<string, string> {
    return { REDIS_HOST: this.host, REDIS_PORT: this.port, REDIS_TLS: 'true' };
  }

  /** The AUTH token as an ECS secret, so it never appears in the task definition. */
  get containerSecrets(): Record<string, ecs.Secret> {
    return { REDIS_PASSWORD: ecs.Secret.fromSecretsManager(this.authToken) };
  }

  private defaultReplicationGroupId(): string {
    const name = Names.uniqueResourceName(this, { maxLength: 40, separator: '-' })
      .toLowerCase()
      .replace(/-+/g, '-');
    return /^[a-z]/.test(name) ? name : `v${name.slice(0, 39)}`;
  }
}
