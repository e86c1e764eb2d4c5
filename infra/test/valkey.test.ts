import { Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { ValkeyReplicationGroup } from '../src/valkey';
import { baseStack, logicalIdOf, templateOf, testApp, type BaseStack } from './support/app';

describe('ValkeyReplicationGroup', () => {
  let base: BaseStack;
  let template: Template;

  beforeAll(() => {
    base = baseStack();
    template = templateOf(base.stack);
  });

  test('encrypts in transit and at rest with Multi-AZ failover', () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: 'valkey',
      TransitEncryptionEnabled: true,
      AtRestEncryptionEnabled: true,
      MultiAZEnabled: true,
      AutomaticFailoverEnabled: true,
      NumCacheClusters: 2,
      Port: 6379,
    });
  });

  test('takes the AUTH token from Secrets Manager', () => {
    const group = Object.values(template.findResources('AWS::ElastiCache::ReplicationGroup'))[0];
    const authToken = JSON.stringify(group?.Properties.AuthToken);
    expect(authToken).toContain('{{resolve:secretsmanager:');
    expect(authToken).toContain(logicalIdOf(base.stack, base.redis.authToken));
  });

  test('parameter group sets noeviction', () => {
    template.hasResourceProperties('AWS::ElastiCache::ParameterGroup', {
      CacheParameterGroupFamily: 'valkey8',
      Properties: { 'maxmemory-policy': 'noeviction' },
    });
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      CacheParameterGroupName: { Ref: logicalIdOf(base.stack, base.redis.parameterGroup) },
    });
  });

  test('admits only the dispatcher and API on the Redis port', () => {
    const redisGroupId = logicalIdOf(base.stack, base.redis.securityGroup);
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).filter(
      (rule) => rule.Properties.GroupId['Fn::GetAtt']?.[0] === redisGroupId,
    );
    const sources = ingress.map((rule) => rule.Properties.SourceSecurityGroupId['Fn::GetAtt'][0]);

    expect(sources.sort()).toEqual(
      [
        logicalIdOf(base.stack, base.dispatcher.service.connections.securityGroups[0]!),
        logicalIdOf(base.stack, base.api.service.connections.securityGroups[0]!),
      ].sort(),
    );
    for (const rule of ingress) {
      expect(rule.Properties).toMatchObject({ IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379 });
    }
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Valkey nodes'),
      SecurityGroupIngress: Match.absent(),
    });
  });

  test('names the node ids from the replication group id', () => {
    expect(base.redis.nodeIds).toEqual([
      `${base.redis.replicationGroupId}-001`,
      `${base.redis.replicationGroupId}-002`,
    ]);
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      ReplicationGroupId: base.redis.replicationGroupId,
    });
  });

  test('rejects zero replicas', () => {
    const stack = new Stack(testApp(), 'Invalid');
    const vpc = new ec2.Vpc(stack, 'Vpc');
    expect(() => new ValkeyReplicationGroup(stack, 'Valkey', { vpc, replicas: 0 })).toThrow(
      'Invalid/Valkey: replicas must be an integer from 1 to 5; got 0',
    );
  });

  test('rejects an engine version before Valkey 7.2', () => {
    const stack = new Stack(testApp(), 'Invalid');
    const vpc = new ec2.Vpc(stack, 'Vpc');
    expect(
      () => new ValkeyReplicationGroup(stack, 'Valkey', { vpc, engineVersion: '6.2' }),
    ).toThrow(/engineVersion must be a Valkey version .* got "6.2"/);
  });

  test('rejects a replication group id with two hyphens in a row', () => {
    const stack = new Stack(testApp(), 'Invalid');
    const vpc = new ec2.Vpc(stack, 'Vpc');
    expect(
      () => new ValkeyReplicationGroup(stack, 'Valkey', { vpc, replicationGroupId: 'bull--pen' }),
    ).toThrow(/replicationGroupId must be 2 to 40 .* got "bull--pen"/);
  });
});
