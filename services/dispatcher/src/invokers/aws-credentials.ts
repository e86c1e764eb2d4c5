import { defaultProvider } from '@aws-sdk/credential-provider-node';

/** AWS credentials in the shape the AWS SDK uses. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

/** Fixed credentials, or a provider the SDK calls whenever it needs fresh ones. */
export type AwsCredentialsSource = AwsCredentials | AwsCredentialsProvider;

/**
 * Returns a provider that builds the SDK's default credential chain (environment, web
 * identity, ECS task role, instance profile) on first use. Creating it lazily keeps a
 * dispatcher with only plain HTTP endpoints from ever asking the metadata services.
 */
export function lazyDefaultCredentials(): AwsCredentialsProvider {
  let provider: AwsCredentialsProvider | undefined;
  return () => {
    provider ??= defaultProvider();
    return provider();
  };
}
