import { Sha256 } from '@aws-crypto/sha256-js';
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { STSClient } from '@aws-sdk/client-sts';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import {
  AccessDeniedError,
  ClusterUnavailableError,
  ConfigError,
  ThrottledError,
} from '../../core/errors.js';
import { systemClock, type ClusterAuthenticator, type ClusterCredentials } from '../../core/ports.js';
import { cachingAuthenticator } from '../credentials.js';
import type { ClusterAuth } from '../../registry/schema.js';
import { assumeRoleCredentials } from '../../sources/aws/assume-role.js';

export type EksAuth = Extract<ClusterAuth, { type: 'eks' }>;

/** The presigned URL is only checked for freshness by the API server; 60 s is what aws-iam-authenticator uses. */
export const PRESIGN_EXPIRES_SECONDS = 60;
/** EKS accepts a token for 15 minutes after signing; we treat it as good for 14, like `aws eks get-token`. */
export const TOKEN_LIFETIME_MS = 14 * 60_000;
/** Ask for a new token this long before `expiresAt`. */
export const REFRESH_MARGIN_MS = 60_000;
export const TOKEN_PREFIX = 'k8s-aws-v1.';
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';

export interface EksAuthenticatorOptions {
  /** Base credentials. @default the default provider chain (the Lambda role) */
  credentials?: AwsCredentialIdentityProvider;
  /** STS endpoint for AssumeRole (tests, VPC endpoints); the presigned URL always names the regional STS host. */
  stsEndpoint?: string;
  /** EKS endpoint for DescribeCluster (tests, VPC endpoints). */
  eksEndpoint?: string;
  now?: () => Date;
}

/**
 * Builds the bearer token EKS accepts: a presigned STS GetCallerIdentity URL, signed with
 * the `x-k8s-aws-id: <cluster>` header, as `k8s-aws-v1.` + base64url (no padding).
 */
export async function presignEksToken(input: {
  clusterName: string;
  region: string;
  credentials: AwsCredentialIdentity;
  now: Date;
}): Promise<string> {
  const signer = new SignatureV4({
    service: 'sts',
    region: input.region,
    credentials: input.credentials,
    sha256: Sha256,
  });
  const hostname = `sts.${input.region}.amazonaws.com`;
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: hostname, [CLUSTER_ID_HEADER]: input.clusterName },
    },
    { expiresIn: PRESIGN_EXPIRES_SECONDS, signingDate: input.now },
  );
  const query = Object.entries(signed.query ?? {})
    .flatMap(([key, value]) =>
      Array.isArray(value)
        ? value.map((v) => [key, v] as const)
        : value === null
          ? []
          : [[key, value] as const],
    )
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join('&');
  const url = `https://${hostname}/?${query}`;
  return TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url');
}

function sdkErrorName(error: unknown): string {
  return typeof error === 'object' && error !== null && 'name' in error && typeof error.name === 'string'
    ? error.name
    : 'UnknownError';
}

function toClusterError(error: unknown, what: string): Error {
  const name = sdkErrorName(error);
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || name === 'UnrecognizedClientException') {
    return new AccessDeniedError(`${what}: access denied (${name}); grant it to the function role`, {
      cause: error,
    });
  }
  if (name === 'ResourceNotFoundException') {
    return new ConfigError(
      `${what}: no such EKS cluster (${name}); check auth.clusterName and auth.region`,
      [],
      { cause: error },
    );
  }
  if (name === 'ThrottlingException' || name === 'Throttling')
    return new ThrottledError(`${what}: throttled (${name})`, { cause: error });
  return new ClusterUnavailableError(`${what}: failed (${name})`, { cause: error });
}

/**
 * `auth.type: eks`: presigned STS tokens, optionally as a per-cluster role, with the
 * endpoint and CA from eks:DescribeCluster when the registry omits them. Tokens are
 * cached per cluster until shortly before they expire (concurrent callers share one) or
 * until `invalidate`.
 */
export function createEksAuthenticator(options: EksAuthenticatorOptions = {}): ClusterAuthenticator<EksAuth> {
  const now = options.now ?? (() => new Date());
  const roleProviders = new Map<string, AwsCredentialIdentityProvider>();
  const endpoints = new Map<string, { server: string; caData: string }>();
  let baseProvider: AwsCredentialIdentityProvider | undefined = options.credentials;

  const base = (region: string): AwsCredentialIdentityProvider => {
    if (baseProvider === undefined) {
      // The STS client's resolved config carries the default provider chain.
      const sts = new STSClient({ region });
      baseProvider = () => sts.config.credentials();
    }
    return baseProvider;
  };

  const providerFor = (auth: EksAuth): AwsCredentialIdentityProvider => {
    if (auth.roleArn === undefined) return base(auth.region);
    const key = `${auth.roleArn}@${auth.region}`;
    let provider = roleProviders.get(key);
    if (provider === undefined) {
      provider = assumeRoleCredentials({
        roleArn: auth.roleArn,
        sessionName: 'secret-propagator-eks',
        sts: {
          region: auth.region,
          credentials: base(auth.region),
          ...(options.stsEndpoint === undefined ? {} : { endpoint: options.stsEndpoint }),
        },
        now,
      });
      roleProviders.set(key, provider);
    }
    return provider;
  };

  async function describe(
    name: string,
    auth: EksAuth,
    credentials: AwsCredentialIdentity,
  ): Promise<{ server: string; caData: string }> {
    const known = endpoints.get(name);
    if (known !== undefined) return known;
    const eks = new EKSClient({
      region: auth.region,
      credentials,
      ...(options.eksEndpoint === undefined ? {} : { endpoint: options.eksEndpoint }),
    });
    try {
      const out = await eks.send(new DescribeClusterCommand({ name: auth.clusterName }));
      const server = out.cluster?.endpoint;
      const caData = out.cluster?.certificateAuthority?.data;
      if (server === undefined || caData === undefined) {
        throw new ClusterUnavailableError(
          `cluster "${name}": eks:DescribeCluster ${auth.clusterName} returned no endpoint or CA yet (is it still creating?)`,
        );
      }
      const found = { server, caData };
      endpoints.set(name, found);
      return found;
    } catch (error) {
      if (error instanceof ClusterUnavailableError) throw error;
      throw toClusterError(
        error,
        `cluster "${name}": eks:DescribeCluster ${auth.clusterName} in ${auth.region}`,
      );
    } finally {
      eks.destroy();
    }
  }

  async function issue(cluster: {
    name: string;
    server?: string;
    caData?: string;
    auth: EksAuth;
  }): Promise<ClusterCredentials> {
    let credentials: AwsCredentialIdentity;
    try {
      credentials = await providerFor(cluster.auth)();
    } catch (error) {
      throw toClusterError(
        error,
        `cluster "${cluster.name}": credentials${cluster.auth.roleArn === undefined ? '' : ` for role ${cluster.auth.roleArn}`}`,
      );
    }
    const signedAt = now();
    const token = await presignEksToken({
      clusterName: cluster.auth.clusterName,
      region: cluster.auth.region,
      credentials,
      now: signedAt,
    });
    const result: ClusterCredentials = { token, expiresAt: new Date(signedAt.getTime() + TOKEN_LIFETIME_MS) };
    if (cluster.server === undefined || cluster.caData === undefined) {
      const found = await describe(cluster.name, cluster.auth, credentials);
      result.server = cluster.server ?? found.server;
      result.caData = cluster.caData ?? found.caData;
    }
    return result;
  }

  // Cached per cluster until REFRESH_MARGIN_MS before expiry; a 401 invalidates the entry and
  // the next call signs a new token (signing is local, so it is always a different one).
  return cachingAuthenticator<EksAuth>('eks', issue, {
    keyOf: (cluster) =>
      `${cluster.name}|${cluster.auth.clusterName}|${cluster.auth.region}|${cluster.auth.roleArn ?? ''}`,
    clock: { now, sleep: (ms) => systemClock.sleep(ms) },
    refreshMarginMs: REFRESH_MARGIN_MS,
  });
}
