import { Match, type Template } from 'aws-cdk-lib/assertions';
import { baseStack, logicalIdOf, templateOf, type BaseStack } from './support/app';

describe('ApiService', () => {
  let base: BaseStack;
  let template: Template;

  beforeAll(() => {
    base = baseStack();
    template = templateOf(base.stack);
  });

  test('load balancer is internal and checks GET /health', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internal',
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      HealthCheckPath: '/health',
      Port: 8080,
      TargetType: 'ip',
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      Protocol: 'HTTP',
    });
  });

  test('load balancer admits HTTP from the VPC range only', () => {
    const groupId = logicalIdOf(base.stack, base.api.loadBalancer.connections.securityGroups[0]!);
    const group = template.findResources('AWS::EC2::SecurityGroup')[groupId];

    expect(group?.Properties.SecurityGroupIngress).toEqual([
      expect.objectContaining({ CidrIp: '10.0.0.0/16', FromPort: 80, ToPort: 80 }),
    ]);
  });

  test('passes tokens and the Redis AUTH token as ECS secrets', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'api',
          Command: ['api'],
          Secrets: [
            {
              Name: 'REDIS_PASSWORD',
              ValueFrom: { Ref: logicalIdOf(base.stack, base.redis.authToken) },
            },
            {
              Name: 'AUTH_TOKENS',
              ValueFrom: { Ref: logicalIdOf(base.stack, base.api.authToken) },
            },
          ],
          Environment: Match.arrayWith([{ Name: 'PORT', Value: '8080' }]),
        }),
      ],
    });
  });

  test('gives the task room for its young generation', () => {
    // The API runs with a 64 MiB semi-space (api.node-flags) and peaked near 425 MB in the bench.
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: '256',
      Memory: '1024',
      ContainerDefinitions: [Match.objectLike({ Name: 'api' })],
    });
  });

  test('rolls back a failing deployment', () => {
    template.hasResourceProperties('AWS::ECS::Service', {
      TaskDefinition: { Ref: Match.stringLikeRegexp('^ApiTaskDefinition') },
      DeploymentConfiguration: Match.objectLike({
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      }),
      EnableExecuteCommand: false,
    });
  });
});
