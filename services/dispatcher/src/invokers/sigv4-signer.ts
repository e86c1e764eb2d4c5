import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialsSource } from './aws-credentials';

/** Signing service of Lambda Function URLs with `AWS_IAM` auth. */
const LAMBDA_SIGNING_SERVICE = 'lambda';

export interface SignableRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Signs HTTP endpoint calls with SigV4 for the `lambda` service, so Lambda Function URLs
 * that use `AWS_IAM` auth accept them with the dispatcher's own credentials.
 */
export class SigV4Signer {
  private readonly credentials: AwsCredentialsSource;
  private readonly signers = new Map<string, SignatureV4>();

  constructor(credentials: AwsCredentialsSource) {
    this.credentials = credentials;
  }

  /** Returns the request headers with `host`, `x-amz-date`, the session token and `authorization` added. */
  async sign(request: SignableRequest, region: string): Promise<Record<string, string>> {
    const query: Record<string, string | string[]> = {};
    for (const [name, value] of request.url.searchParams) {
      const previous = query[name];
      if (previous === undefined) query[name] = value;
      else query[name] = Array.isArray(previous) ? [...previous, value] : [previous, value];
    }

    const signed = await this.signerFor(region).sign({
      method: request.method,
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      port: request.url.port === '' ? undefined : Number(request.url.port),
      path: request.url.pathname,
      query,
      headers: { ...request.headers, host: request.url.host },
      body: request.body,
    });
    return signed.headers;
  }

  private signerFor(region: string): SignatureV4 {
    let signer = this.signers.get(region);
    if (!signer) {
      signer = new SignatureV4({
        service: LAMBDA_SIGNING_SERVICE,
        region,
        credentials: this.credentials,
        sha256: Sha256,
      });
      this.signers.set(region, signer);
    }
    return signer;
  }
}
