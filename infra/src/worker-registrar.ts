import path from 'node:path';
import {
  CfnElement,
  CustomResource,
  Duration,
  RemovalPolicy,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, type IDependable } from 'constructs';
import type { ApiService } from './api-service';
import { FUNCTION_RUNTIME, acknowledgeFunctionDefaults } from './function-defaults';
import { REPO_ROOT } from './paths';

export interface WorkerRegistrarProps {
  /** The API that stores registrations; its service must be up before any registration. */
  readonly api: ApiService;
  readonly vpc: ec2.IVpc;
  /**
   * Subnets of the registration function; they must reach the internal load balancer and
   * the Secrets Manager endpoint.
   * @default the VPC's private subnets with egress
   */
  readonly subnets?: ec2.SubnetSelection;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/** Resource type of a registration in the CloudFormation template. */
export const WORKER_REGISTRATION_RESOURCE_TYPE = 'Custom::BullpenWorker';

/**
 * The deploy-time worker registry client: a function in the VPC that reads the API token
 * from Secrets Manager and calls the API, behind the custom resource provider framework.
 * One registrar serves every worker of a stack.
 */
export class WorkerRegistrar extends Construct {
  readonly handler: nodejs.NodejsFunction;
  readonly provider: cr.Provider;
  private readonly api: ApiService;

  constructor(scope: Construct, id: string, props: WorkerRegistrarProps) {
    super(scope, id);
    this.api = props.api;

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Bullpen worker registration function: calls the internal API',
      allowAllOutbound: true,
    });
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    this.handler = new nodejs.NodejsFunction(this, 'Handler', {
      entry: path.join(__dirname, 'register-worker', 'handler.ts'),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'pnpm-lock.yaml'),
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      description: 'Registers Bullpen workers with the API at deploy time',
      memorySize: 256,
      // Six tries of at most 10 s each with 5 s pauses, and room to spare.
      timeout: Duration.minutes(3),
      vpc: props.vpc,
      vpcSubnets: props.subnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [securityGroup],
      logGroup: new logs.LogGroup(this, 'HandlerLogs', {
        retention: logRetention,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        BULLPEN_API_URL: props.api.url,
        BULLPEN_API_TOKEN_SECRET_ID: props.api.authToken.secretArn,
      },
      bundling: {
        forceDockerBundling: false,
        format: nodejs.OutputFormat.CJS,
        minify: true,
        externalModules: ['@aws-sdk/*'],
      },
    });
    props.api.authToken.grantRead(this.handler);
    acknowledgeFunctionDefaults(this.handler);

    this.provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.handler,
      logGroup: new logs.LogGroup(this, 'ProviderLogs', {
        retention: logRetention,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
    const handlerLogicalId = Stack.of(this).getLogicalId(
      this.handler.node.defaultChild as CfnElement,
    );
    Validations.of(this.provider).acknowledge(
      {
        id: `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]`,
        reason:
          'The provider framework function that aws-cdk-lib builds uses the ' +
          'AWSLambdaBasicExecutionRole managed policy, which only writes its own logs.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${handlerLogicalId}.Arn>:*]`,
        reason:
          'aws-cdk-lib grants the provider framework lambda:InvokeFunction on the ' +
          'registration function and its versions (<arn>:*); it invokes nothing else.',
      },
      {
        id: 'AwsSolutions-L1',
        reason: 'aws-cdk-lib picks and updates the runtime of the provider framework function.',
      },
    );
  }

  /**
   * Adds a custom resource that keeps `registration` (a `POST /workers` body) registered
   * from when `dependencies` exist until the resource is deleted.
   */
  register(
    scope: Construct,
    id: string,
    registration: Record<string, unknown>,
    dependencies: readonly IDependable[] = [],
  ): CustomResource {
    const resource = new CustomResource(scope, id, {
      serviceToken: this.provider.serviceToken,
      resourceType: WORKER_REGISTRATION_RESOURCE_TYPE,
      properties: { Registration: Stack.of(scope).toJsonString(registration) },
    });
    resource.node.addDependency(this.api.service, ...dependencies);
    return resource;
  }
}
