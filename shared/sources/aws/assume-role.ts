import { AssumeRoleCommand, STSClient, type STSClientConfig } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';

/** Refresh credentials this long before they expire. */
const REFRESH_MARGIN_MS = 5 * 60_000;

export interface AssumeRoleOptions {
  roleArn: string;
  /** Shown in CloudTrail as the session name. @default "secret-propagator" */
  sessionName?: string;
  /** STS client config (region, endpoint, base credentials). */
  sts?: STSClientConfig;
  /** @default 3600 */
  durationSeconds?: number;
  now?: () => Date;
}

/**
 * A credentials provider that assumes `roleArn` with STS and caches the result until
 * shortly before it expires; concurrent callers share one AssumeRole call.
 */
export function assumeRoleCredentials(options: AssumeRoleOptions): AwsCredentialIdentityProvider {
  const sts = new STSClient(options.sts ?? {});
  const now = options.now ?? (() => new Date());
  let cached: AwsCredentialIdentity | undefined;
  let pending: Promise<AwsCredentialIdentity> | undefined;

  const fetch = async (): Promise<AwsCredentialIdentity> => {
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: options.roleArn,
        RoleSessionName: options.sessionName ?? 'secret-propagator',
        DurationSeconds: options.durationSeconds ?? 3600,
      }),
    );
    const c = out.Credentials;
    if (c?.AccessKeyId === undefined || c.SecretAccessKey === undefined) {
      throw new Error(`STS AssumeRole for ${options.roleArn} returned no credentials`);
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken === undefined ? {} : { sessionToken: c.SessionToken }),
      ...(c.Expiration === undefined ? {} : { expiration: c.Expiration }),
    };
  };

  return async () => {
    if (
      cached !== undefined &&
      (cached.expiration === undefined || cached.expiration.getTime() - REFRESH_MARGIN_MS > now().getTime())
    ) {
      return cached;
    }
    pending ??= fetch().finally(() => {
      pending = undefined;
    });
    cached = await pending;
    return cached;
  };
}
