import { ConfigError } from '@bullpen/core';
import { loadDispatcherConfig } from '../src';

const minimalEnv = { PUBLIC_API_URL: 'http://api.internal:8080' };

function configError(env: Record<string, string>): ConfigError {
  try {
    loadDispatcherConfig(env);
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('loadDispatcherConfig accepted an invalid environment');
}

describe('loadDispatcherConfig', () => {
  test('applies the defaults', () => {
    const config = loadDispatcherConfig(minimalEnv);

    expect(config.redis).toEqual({
      url: undefined,
      host: '127.0.0.1',
      port: 6379,
      username: undefined,
      password: undefined,
      tls: false,
    });
    expect(config.queuePrefix).toBe('bull');
    expect(config.publicApiUrl).toBe('http://api.internal:8080');
    expect(config.logLevel).toBe('info');
    expect(config.metricsPort).toBe(9464);
    expect(config.metricsHost).toBe('0.0.0.0');
    expect(config.shutdownGraceMs).toBe(25_000);
    expect(config.reconcileIntervalMs).toBe(30_000);
    expect(config.throttleDelayMs).toBe(1_000);
    expect(config.cloudWatchMetrics).toBe(false);
    expect(config.cloudWatchMetricsIntervalMs).toBe(60_000);
    expect(config.serviceName).toBe('bullpen-dispatcher');
    expect(config.awsRegion).toBeUndefined();
    expect(config.lambdaEndpoint).toBeUndefined();
    expect(config.endpointAllowlist.source).toBe('');
  });

  test('reads every variable', () => {
    const config = loadDispatcherConfig({
      REDIS_HOST: 'cache.internal',
      REDIS_PORT: '6380',
      REDIS_USERNAME: 'dispatcher',
      REDIS_PASSWORD: 'secret',
      REDIS_TLS: 'true',
      QUEUE_PREFIX: 'jobs',
      ENDPOINT_ALLOWLIST: '127.0.0.0/8,::1',
      PUBLIC_API_URL: 'https://api.example.com',
      LOG_LEVEL: 'debug',
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      SHUTDOWN_GRACE_MS: '10000',
      RECONCILE_INTERVAL_MS: '5000',
      THROTTLE_DELAY_MS: '250',
      CLOUDWATCH_METRICS: 'true',
      SERVICE_NAME: 'bullpen-prod',
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL: 'http://localhost:4566',
    });

    expect(config.redis).toEqual({
      url: undefined,
      host: 'cache.internal',
      port: 6380,
      username: 'dispatcher',
      password: 'secret',
      tls: true,
    });
    expect(config.queuePrefix).toBe('jobs');
    expect(config.endpointAllowlist.source).toBe('127.0.0.0/8,::1');
    expect(config.logLevel).toBe('debug');
    expect(config.metricsPort).toBe(0);
    expect(config.metricsHost).toBe('127.0.0.1');
    expect(config.shutdownGraceMs).toBe(10_000);
    expect(config.reconcileIntervalMs).toBe(5_000);
    expect(config.throttleDelayMs).toBe(250);
    expect(config.cloudWatchMetrics).toBe(true);
    expect(config.serviceName).toBe('bullpen-prod');
    expect(config.awsRegion).toBe('eu-west-1');
    expect(config.lambdaEndpoint).toBe('http://localhost:4566');
  });

  test('prefers the Lambda-specific endpoint variable', () => {
    const config = loadDispatcherConfig({
      ...minimalEnv,
      AWS_ENDPOINT_URL: 'http://localhost:4566',
      AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9001',
    });

    expect(config.lambdaEndpoint).toBe('http://127.0.0.1:9001');
  });

  test.each([
    ['a missing PUBLIC_API_URL', {}, 'PUBLIC_API_URL'],
    ['an ftp PUBLIC_API_URL', { ...minimalEnv, PUBLIC_API_URL: 'ftp://api' }, 'PUBLIC_API_URL'],
    ['an http REDIS_URL', { ...minimalEnv, REDIS_URL: 'http://cache:6379' }, 'REDIS_URL'],
    ['METRICS_PORT 70000', { ...minimalEnv, METRICS_PORT: '70000' }, 'METRICS_PORT'],
    ['SHUTDOWN_GRACE_MS 0', { ...minimalEnv, SHUTDOWN_GRACE_MS: '0' }, 'SHUTDOWN_GRACE_MS'],
    [
      'a word as interval',
      { ...minimalEnv, RECONCILE_INTERVAL_MS: 'soon' },
      'RECONCILE_INTERVAL_MS',
    ],
    ['a negative delay', { ...minimalEnv, THROTTLE_DELAY_MS: '-5' }, 'THROTTLE_DELAY_MS'],
    ['a non-boolean flag', { ...minimalEnv, CLOUDWATCH_METRICS: 'maybe' }, 'CLOUDWATCH_METRICS'],
    [
      'a bad CIDR prefix',
      { ...minimalEnv, ENDPOINT_ALLOWLIST: '10.0.0.0/40' },
      'ENDPOINT_ALLOWLIST',
    ],
    ['an unknown log level', { ...minimalEnv, LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    ['a malformed region', { ...minimalEnv, AWS_REGION: 'Europe' }, 'AWS_REGION'],
    [
      'a malformed Lambda endpoint',
      { ...minimalEnv, AWS_ENDPOINT_URL_LAMBDA: 'not a url' },
      'AWS_ENDPOINT_URL_LAMBDA',
    ],
  ])('rejects %s', (_label, env, variable) => {
    const error = configError(env);

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
  });

  test('names the fix when PUBLIC_API_URL is missing', () => {
    expect(configError({}).message).toBe(
      'Invalid configuration: PUBLIC_API_URL is required: set it to the API base URL that ' +
        'endpoints call back, such as http://api:8080',
    );
  });
});
