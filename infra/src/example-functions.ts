import path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FUNCTION_RUNTIME, acknowledgeFunctionDefaults } from './function-defaults';
import { REPO_ROOT } from './paths';

export interface ExampleFunctionsProps {
  /** VPC the functions run in, so their progress and log callbacks reach the internal API. */
  readonly vpc: ec2.IVpc;
  /** @default the VPC's private subnets with egress */
  readonly subnets?: ec2.SubnetSelection;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The two example job functions: `csvReport`, called through the Lambda Invoke API, and
 * `textStats`, called over its Function URL with `AWS_IAM` auth.
 */
export class ExampleFunctions extends Construct {
  readonly csvReport: nodejs.NodejsFunction;
  readonly textStats: nodejs.NodejsFunction;
  readonly textStatsUrl: lambda.FunctionUrl;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: ExampleFunctionsProps) {
    super(scope, id);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Bullpen example functions: outbound only',
      allowAllOutbound: true,
    });
    const common = {
      vpc: props.vpc,
      subnets: props.subnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup: this.securityGroup,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    };

    this.csvReport = bundledJobFunction(this, 'CsvReport', {
      ...common,
      serviceDir: 'services/fn-csv-report',
      description: 'Bullpen example: summary statistics of a bundled CSV file',
      memorySize: 512,
      timeout: Duration.minutes(1),
    });
    this.textStats = bundledJobFunction(this, 'TextStats', {
      ...common,
      serviceDir: 'services/fn-text-stats',
      description: 'Bullpen example: readability statistics of a bundled text, over HTTP',
      memorySize: 256,
      timeout: Duration.seconds(30),
    });
    this.textStatsUrl = this.textStats.addFunctionUrl({
      authType: lambda.FunctionUrlAuthType.AWS_IAM,
    });
  }
}

interface BundledJobFunctionProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly logRetention: logs.RetentionDays;
  /** Package folder from the repository root, with `src/handler.ts` and `data/`. */
  readonly serviceDir: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
}

/**
 * A job function bundled by esbuild on this machine, never in Docker, with the package's
 * `data/` folder copied next to the bundle, where the handler SDK looks for it.
 */
function bundledJobFunction(
  scope: Construct,
  id: string,
  props: BundledJobFunctionProps,
): nodejs.NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: props.logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const dataDir = path.join(REPO_ROOT, props.serviceDir, 'data');

  const fn = new nodejs.NodejsFunction(scope, id, {
    entry: path.join(REPO_ROOT, props.serviceDir, 'src', 'handler.ts'),
    handler: 'handler',
    projectRoot: REPO_ROOT,
    depsLockFilePath: path.join(REPO_ROOT, 'pnpm-lock.yaml'),
    runtime: FUNCTION_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    description: props.description,
    memorySize: props.memorySize,
    timeout: props.timeout,
    vpc: props.vpc,
    vpcSubnets: props.subnets,
    securityGroups: [props.securityGroup],
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    environment: { NODE_OPTIONS: '--enable-source-maps' },
    bundling: {
      forceDockerBundling: false,
      format: nodejs.OutputFormat.CJS,
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      // The Node.js Lambda runtime ships AWS SDK v3.
      externalModules: ['@aws-sdk/*'],
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        afterBundling: (_inputDir, outputDir) => [`cp -R "${dataDir}" "${outputDir}/data"`],
      },
    },
  });
  acknowledgeFunctionDefaults(fn);
  return fn;
}
