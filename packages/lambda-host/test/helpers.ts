import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LambdaClient, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import type { LambdaHost } from '../src';

/** Absolute path of a handler fixture module. */
export function fixture(fileName: string): string {
  return path.join(__dirname, 'fixtures', fileName);
}

/** Creates a real Lambda client for the host, with fake credentials and no retries. */
export function lambdaClient(host: LambdaHost): LambdaClient {
  return new LambdaClient({
    endpoint: host.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
}

/** Encodes an event as the Invoke payload. */
export function payload(event: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(event));
}

/** Decodes the JSON payload of an Invoke response. */
export function resultOf(response: InvokeCommandOutput): unknown {
  return JSON.parse(Buffer.from(response.Payload ?? new Uint8Array()).toString('utf8'));
}

/** Creates a temporary directory for marker files; `remove` deletes it. */
export function temporaryDirectory(): { path: string; remove: () => void } {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-host-test-'));
  return { path: directory, remove: () => fs.rmSync(directory, { recursive: true, force: true }) };
}

/** Polls `condition` every 20 ms; throws when it is still false after `timeoutMs`. */
export async function waitFor(
  description: string,
  condition: () => boolean,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}`);
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
