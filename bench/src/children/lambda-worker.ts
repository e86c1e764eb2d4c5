// The hand-written baseline of the Lambda dispatch path: a BullMQ Worker that invokes one
// function per job with the AWS SDK, without retries and over kept-alive connections.
// REQUEST_FORMAT picks the minimal payload or Bullpen's own.
import http from 'node:http';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Job } from 'bullmq';
import { runBaselineWorker } from './baseline-worker';
import { requiredEnv, requiredIntegerEnv } from './child-env';
import { readRequestFormat, requestBody } from './request-format';

async function main(): Promise<void> {
  const queueName = requiredEnv('QUEUE');
  const concurrency = requiredIntegerEnv('CONCURRENCY');
  const functionName = requiredEnv('FUNCTION_NAME');
  const format = readRequestFormat(process.env.REQUEST_FORMAT);
  const client = new LambdaClient({
    endpoint: requiredEnv('LAMBDA_ENDPOINT'),
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      httpAgent: new http.Agent({ keepAlive: true, maxSockets: concurrency }),
    }),
  });

  const invoke = async (job: Job, token?: string): Promise<unknown> => {
    const response = await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        Payload: Buffer.from(requestBody(format, queueName, job, token)),
      }),
    );
    const text = Buffer.from(response.Payload ?? new Uint8Array()).toString('utf8');
    if (response.FunctionError) throw new Error(`${response.FunctionError}: ${text}`);
    return text === '' ? null : JSON.parse(text);
  };

  await runBaselineWorker(queueName, concurrency, invoke, () => client.destroy());
}

main().catch((error: unknown) => {
  process.stderr.write(`hand-written Lambda worker failed: ${String(error)}\n`);
  process.exit(1);
});
