import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { IConstruct } from 'constructs';
import { ApiService } from '../../src/api-service';
import { DispatcherService } from '../../src/dispatcher-service';
import { BullpenNetwork } from '../../src/network';
import { ValkeyReplicationGroup } from '../../src/valkey';
import { WorkerRegistrar } from '../../src/worker-registrar';
import { REPO_ROOT } from '../../src/paths';

/** Reads the feature flags of the root cdk.json, so tests synthesize what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

/** Creates an app with the cdk.json flags that writes its cloud assembly to a new temp folder. */
export function testApp(): App {
  return new App({
    context: cdkJsonContext(),
    outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'bullpen-cdk-')),
  });
}

/** The pieces most constructs need, wired as the default stack wires them. */
export interface BaseStack {
  readonly app: App;
  readonly stack: Stack;
  readonly network: BullpenNetwork;
  readonly redis: ValkeyReplicationGroup;
  readonly cluster: ecs.Cluster;
  readonly api: ApiService;
  readonly dispatcher: DispatcherService;
  readonly registrar: WorkerRegistrar;
}

/**
 * Builds network, Valkey, API, dispatcher and registrar in one stack. The services use a
 * registry image instead of the Docker asset, which construct tests do not need.
 */
export function baseStack(): BaseStack {
  const app = testApp();
  const stack = new Stack(app, 'Test');
  const network = new BullpenNetwork(stack, 'Network');
  const redis = new ValkeyReplicationGroup(stack, 'Valkey', {
    vpc: network.vpc,
    subnets: network.dataSubnets,
  });
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc: network.vpc });
  const image = ecs.ContainerImage.fromRegistry('bullpen:test');
  const api = new ApiService(stack, 'Api', {
    cluster,
    image,
    redis,
    clientCidr: network.cidr,
  });
  const dispatcher = new DispatcherService(stack, 'Dispatcher', {
    cluster,
    image,
    redis,
    publicApiUrl: api.url,
  });
  const registrar = new WorkerRegistrar(stack, 'Registrar', { api, vpc: network.vpc });
  return { app, stack, network, redis, cluster, api, dispatcher, registrar };
}

/** Synthesizes `stack` and returns its template. */
export function templateOf(stack: Stack): Template {
  return Template.fromStack(stack);
}

/** Returns the logical id of `construct`, or of its default child for an L2 construct. */
export function logicalIdOf(stack: Stack, construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return stack.resolve(element.logicalId) as string;
}

/**
 * Parses a JSON property that CloudFormation builds with `Fn::Join`. Each embedded token
 * becomes text: `Ref` its logical id, `Fn::GetAtt` `<id>.<attribute>`.
 */
export function parseJoinedJson(value: unknown): unknown {
  if (typeof value === 'string') return JSON.parse(value);
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) throw new Error(`Expected a string or Fn::Join, got ${JSON.stringify(value)}`);
  const [separator, parts] = join;
  return JSON.parse(parts.map(tokenText).join(separator));
}

function tokenText(part: unknown): string {
  if (typeof part === 'string') return part;
  const token = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  if (token.Ref !== undefined) return token.Ref;
  if (token['Fn::GetAtt'] !== undefined) return token['Fn::GetAtt'].join('.');
  throw new Error(`Unexpected token in joined JSON: ${JSON.stringify(part)}`);
}

interface PolicyStatement {
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/** Collects every IAM statement attached to the role with logical id `roleId`. */
export function statementsOfRole(template: Template, roleId: string): PolicyStatement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((policy) =>
      (policy.Properties.Roles as unknown[]).some(
        (role) => JSON.stringify(role) === JSON.stringify({ Ref: roleId }),
      ),
    )
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as PolicyStatement[]);
}

/** Keeps the statements whose actions include a Lambda action. */
export function lambdaStatements(statements: readonly PolicyStatement[]): PolicyStatement[] {
  return statements.filter((statement) =>
    [statement.Action].flat().some((action) => action.startsWith('lambda:')),
  );
}

/** Returns a statement's resources as a list. */
export function resourcesOf(statement: PolicyStatement): unknown[] {
  return [statement.Resource].flat();
}

/** One action on one resource, with the statement's condition, for order-free comparison. */
export interface Permission {
  readonly action: string;
  readonly resource: unknown;
  readonly condition?: unknown;
}

/** Splits statements into single permissions, sorted, since policy minimization merges them. */
export function permissionsOf(statements: readonly PolicyStatement[]): Permission[] {
  return statements
    .flatMap((statement) =>
      [statement.Action].flat().flatMap((action) =>
        resourcesOf(statement).map((resource) => ({
          action,
          resource,
          ...(statement.Condition === undefined ? {} : { condition: statement.Condition }),
        })),
      ),
    )
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}
