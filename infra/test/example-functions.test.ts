import fs from 'node:fs';
import path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ExampleFunctions } from '../src/example-functions';
import { BullpenNetwork } from '../src/network';
import { logicalIdOf, testApp } from './support/app';

describe('ExampleFunctions', () => {
  let stack: Stack;
  let examples: ExampleFunctions;
  let template: Template;
  let assemblyDir: string;

  beforeAll(() => {
    const app = testApp();
    stack = new Stack(app, 'Test');
    const network = new BullpenNetwork(stack, 'Network');
    examples = new ExampleFunctions(stack, 'Examples', { vpc: network.vpc });
    template = Template.fromStack(stack);
    assemblyDir = app.outdir;
  });

  function bundleDirOf(functionId: string): string {
    const fn = template.findResources('AWS::Lambda::Function')[functionId];
    const key = fn?.Properties.Code.S3Key as string;
    return path.join(assemblyDir, `asset.${key.replace(/\.zip$/, '')}`);
  }

  test('run on ARM64 with the Node.js 24 runtime', () => {
    for (const fn of [examples.csvReport, examples.textStats]) {
      const properties =
        template.findResources('AWS::Lambda::Function')[logicalIdOf(stack, fn)]?.Properties;
      expect(properties).toMatchObject({ Architectures: ['arm64'], Runtime: 'nodejs24.x' });
    }
  });

  test('ship each package data folder beside the bundle', () => {
    const csvBundle = bundleDirOf(logicalIdOf(stack, examples.csvReport));
    const textBundle = bundleDirOf(logicalIdOf(stack, examples.textStats));

    expect(fs.existsSync(path.join(csvBundle, 'index.js'))).toBe(true);
    expect(fs.readdirSync(path.join(csvBundle, 'data')).sort()).toEqual(
      fs.readdirSync(path.join(__dirname, '../../services/fn-csv-report/data')).sort(),
    );
    expect(fs.readdirSync(path.join(textBundle, 'data')).sort()).toEqual(
      fs.readdirSync(path.join(__dirname, '../../services/fn-text-stats/data')).sort(),
    );
  });

  test('text stats sits behind an AWS_IAM Function URL', () => {
    template.resourceCountIs('AWS::Lambda::Url', 1);
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'AWS_IAM',
      TargetFunctionArn: { 'Fn::GetAtt': [logicalIdOf(stack, examples.textStats), 'Arn'] },
    });
  });
});
