import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BullpenNetwork } from '../src/network';
import { testApp } from './support/app';

function serviceNameOf(endpoint: Record<string, { ServiceName?: unknown }>): string {
  return JSON.stringify(endpoint.Properties?.ServiceName);
}

describe('BullpenNetwork', () => {
  let template: Template;

  beforeAll(() => {
    const stack = new Stack(testApp(), 'Test');
    new BullpenNetwork(stack, 'Network');
    template = Template.fromStack(stack);
  });

  test('adds interface endpoints for Lambda, ECR, Logs and Secrets Manager', () => {
    const interfaceEndpoints = Object.values(
      template.findResources('AWS::EC2::VPCEndpoint', {
        Properties: { VpcEndpointType: 'Interface' },
      }),
    ).map(serviceNameOf);

    expect(interfaceEndpoints).toHaveLength(5);
    for (const service of ['.lambda"', '.ecr.api"', '.ecr.dkr"', '.logs"', '.secretsmanager"']) {
      expect(interfaceEndpoints.filter((name) => name.includes(service))).toHaveLength(1);
    }
  });

  test('adds the S3 gateway endpoint that image pulls need', () => {
    const gateways = Object.values(
      template.findResources('AWS::EC2::VPCEndpoint', {
        Properties: { VpcEndpointType: 'Gateway' },
      }),
    ).map(serviceNameOf);

    expect(gateways).toHaveLength(1);
    expect(gateways[0]).toContain('.s3"');
  });

  test('creates one NAT gateway and isolated data subnets', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    const isolated = Object.values(template.findResources('AWS::EC2::Subnet')).filter((subnet) =>
      (subnet.Properties.Tags as { Key: string; Value: string }[]).some(
        (tag) => tag.Key === 'aws-cdk:subnet-type' && tag.Value === 'Isolated',
      ),
    );
    expect(isolated).toHaveLength(2);
  });

  test('rejects a single availability zone', () => {
    const stack = new Stack(testApp(), 'Invalid');
    expect(() => new BullpenNetwork(stack, 'Network', { maxAzs: 1 })).toThrow(
      'Invalid/Network: maxAzs must be an integer from 2 to 6; got 1',
    );
  });

  test('rejects zero NAT gateways', () => {
    const stack = new Stack(testApp(), 'Invalid');
    expect(() => new BullpenNetwork(stack, 'Network', { natGateways: 0 })).toThrow(
      'Invalid/Network: natGateways must be an integer from 1 to 2; got 0',
    );
  });
});
