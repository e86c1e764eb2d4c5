import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { assertIntegerInRange } from './errors';

/** Address range of the VPC, a literal so security group rules can name it at synth. */
export const DEFAULT_VPC_CIDR = '10.0.0.0/16';

export interface BullpenNetworkProps {
  /**
   * IPv4 range of the VPC.
   * @default '10.0.0.0/16'
   */
  readonly cidr?: string;
  /**
   * Availability zones to spread subnets over. Valkey Multi-AZ needs at least two.
   * @default 2
   */
  readonly maxAzs?: number;
  /**
   * NAT gateways for the private subnets. The dispatcher needs one to reach HTTP endpoints
   * on the internet, such as Lambda Function URLs, which no VPC endpoint serves.
   * @default 1
   */
  readonly natGateways?: number;
  /**
   * How long VPC flow logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly flowLogRetention?: logs.RetentionDays;
}

/** Interface endpoints of the AWS APIs that the services call from the private subnets. */
const INTERFACE_ENDPOINTS = {
  Lambda: ec2.InterfaceVpcEndpointAwsService.LAMBDA,
  EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
  EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
  CloudWatchLogs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
} as const;

/**
 * The VPC of a Bullpen deployment. Public subnets hold the NAT gateway, private subnets with
 * egress the services and functions, and isolated subnets Valkey. VPC endpoints keep Lambda
 * invokes, image pulls, logs and secrets off the NAT gateway.
 */
export class BullpenNetwork extends Construct {
  readonly vpc: ec2.Vpc;
  /** IPv4 range of the VPC, the peer of rules that admit any client inside it. */
  readonly cidr: string;
  /** Subnets of the services, the custom resource function and the interface endpoints. */
  readonly serviceSubnets: ec2.SubnetSelection = {
    subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS,
  };
  /** Subnets of the Valkey nodes, which need no route out of the VPC. */
  readonly dataSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

  constructor(scope: Construct, id: string, props: BullpenNetworkProps = {}) {
    super(scope, id);

    const maxAzs = props.maxAzs ?? 2;
    const natGateways = props.natGateways ?? 1;
    assertIntegerInRange(this, 'maxAzs', maxAzs, 2, 6);
    assertIntegerInRange(this, 'natGateways', natGateways, 1, maxAzs);

    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.cidr = props.cidr ?? DEFAULT_VPC_CIDR;
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(this.cidr),
      maxAzs,
      natGateways,
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: 'Data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      flowLogs: {
        Rejected: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
          trafficType: ec2.FlowLogTrafficType.REJECT,
        },
      },
    });

    // ECR keeps image layers in S3, so image pulls need the S3 gateway endpoint as well.
    this.vpc.addGatewayEndpoint('S3', {
      service: ec2.GatewayVpcEndpointAwsService.S3,
      subnets: [this.serviceSubnets],
    });
    for (const [endpointId, service] of Object.entries(INTERFACE_ENDPOINTS)) {
      const endpoint = this.vpc.addInterfaceEndpoint(endpointId, {
        service,
        subnets: this.serviceSubnets,
        privateDnsEnabled: true,
        open: false,
      });
      endpoint.connections.allowDefaultPortFrom(
        ec2.Peer.ipv4(this.cidr),
        `HTTPS to ${endpointId} from inside the VPC`,
      );
    }
  }
}
