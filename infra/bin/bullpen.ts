import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { BullpenStack } from '../src';

// Settings come from CDK context (`cdk deploy -c bullpen:apiExec=true`) so the app reads
// no environment variables and synthesizes the same template on every machine.
const app = new App();
const contextFlag = (key: string): boolean | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined ? undefined : value === true || value === 'true';
};

new BullpenStack(app, app.node.tryGetContext('bullpen:stackName') ?? 'Bullpen', {
  description: 'Bullpen: BullMQ queues whose workers are Lambda functions and HTTP endpoints',
  enableApiExecuteCommand: contextFlag('bullpen:apiExec'),
  withExamples: contextFlag('bullpen:examples'),
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
