import { CreateClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../shared/core/errors.js';
import { createEksAuthenticator, type EksAuth } from '../../shared/kube/auth/eks.js';
import { startMoto, type Moto } from './support/moto.js';

let moto: Moto;
const baseCredentials = () =>
  Promise.resolve({ accessKeyId: 'AKIDBASEEXAMPLE', secretAccessKey: 'base-secret-key' });

beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await moto.stop();
});

function aCluster(tweak: Partial<{ server: string; caData: string; auth: Partial<EksAuth> }> = {}) {
  const { auth, ...rest } = tweak;
  return {
    name: 'prod-eu-1',
    server: 'https://ABCD.gr7.eu-west-1.eks.amazonaws.com',
    caData: 'Q0E=',
    ...rest,
    auth: { type: 'eks' as const, clusterName: 'prod-eu-1', region: 'eu-west-1', ...auth },
  };
}

function decode(token: string | undefined): URL {
  expect(token).toMatch(/^k8s-aws-v1\.[A-Za-z0-9_-]+$/);
  return new URL(Buffer.from((token ?? '').slice('k8s-aws-v1.'.length), 'base64url').toString('utf8'));
}

class ManualClock {
  constructor(public current: Date) {}
  now = () => this.current;
  advance(ms: number) {
    this.current = new Date(this.current.getTime() + ms);
  }
}

describe('eks authenticator', () => {
  it('issues a k8s-aws-v1 token: a presigned GetCallerIdentity bound to the cluster id header, 60 s expiry', async () => {
    // given
    const auth = createEksAuthenticator({ credentials: baseCredentials });

    // when
    const credentials = await auth.credentials(aCluster());

    // then
    const url = decode(credentials.token);
    expect(url.host).toBe('sts.eu-west-1.amazonaws.com');
    expect(url.searchParams.get('Action')).toBe('GetCallerIdentity');
    expect(url.searchParams.get('Version')).toBe('2011-06-15');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toEqual(
      expect.arrayContaining(['host', 'x-k8s-aws-id']),
    );
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(
      /^AKIDBASEEXAMPLE\/\d{8}\/eu-west-1\/sts\/aws4_request$/,
    );
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(credentials.server).toBeUndefined();
  });

  it('caches the token until shortly before it expires, then signs a new one', async () => {
    // given
    const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
    const auth = createEksAuthenticator({ credentials: baseCredentials, now: clock.now });
    const first = await auth.credentials(aCluster());

    // when
    clock.advance(12 * 60_000);
    const cached = await auth.credentials(aCluster());
    clock.advance(90_000);
    const renewed = await auth.credentials(aCluster());

    // then
    expect(cached.token).toBe(first.token);
    expect(renewed.token).not.toBe(first.token);
    expect(first.expiresAt?.toISOString()).toBe('2026-01-01T00:14:00.000Z');
    expect(decode(renewed.token).searchParams.get('X-Amz-Date')).toBe('20260101T001330Z');
  });

  it('assumes the cluster role with STS (moto) once and signs with the role credentials', async () => {
    // given
    moto.resetCalls();
    const clock = new ManualClock(new Date());
    const auth = createEksAuthenticator({
      credentials: baseCredentials,
      stsEndpoint: moto.endpoint,
      now: clock.now,
    });
    const cluster = aCluster({ auth: { roleArn: 'arn:aws:iam::123456789012:role/propagator-eks' } });

    // when
    const first = await auth.credentials(cluster);
    clock.advance(14 * 60_000);
    const second = await auth.credentials(cluster);

    // then
    const keyId = decode(first.token).searchParams.get('X-Amz-Credential')?.split('/')[0];
    expect(keyId).toMatch(/^ASIA/);
    expect(decode(first.token).searchParams.get('X-Amz-Security-Token')).toBeTruthy();
    expect(decode(second.token).searchParams.get('X-Amz-Credential')?.split('/')[0]).toBe(keyId);
    expect(moto.calls('AssumeRole')).toHaveLength(1);
  });

  it('takes endpoint and CA from eks:DescribeCluster (moto) when the registry omits them, once per cluster', async () => {
    // given
    const eks = new EKSClient({ region: 'eu-west-1', endpoint: moto.endpoint, credentials: baseCredentials });
    const created = await eks.send(
      new CreateClusterCommand({
        name: 'described',
        roleArn: 'arn:aws:iam::123456789012:role/eks',
        resourcesVpcConfig: { subnetIds: ['subnet-1'] },
      }),
    );
    eks.destroy();
    moto.resetCalls();
    const clock = new ManualClock(new Date());
    const auth = createEksAuthenticator({
      credentials: baseCredentials,
      eksEndpoint: moto.endpoint,
      now: clock.now,
    });
    const cluster = {
      name: 'described',
      auth: { type: 'eks' as const, clusterName: 'described', region: 'eu-west-1' },
    };

    // when
    const first = await auth.credentials(cluster);
    clock.advance(14 * 60_000);
    const second = await auth.credentials(cluster);

    // then
    expect(first.server).toBe(created.cluster?.endpoint);
    expect(first.caData).toBe(created.cluster?.certificateAuthority?.data);
    expect(second.server).toBe(first.server);
    expect(moto.calls('GET /clusters/described')).toHaveLength(1);
  });

  it('reports an unknown EKS cluster as a ConfigError naming it', async () => {
    // given
    const auth = createEksAuthenticator({ credentials: baseCredentials, eksEndpoint: moto.endpoint });

    // when
    const failure = auth.credentials({
      name: 'ghost',
      auth: { type: 'eks', clusterName: 'ghost-cluster', region: 'eu-west-1' },
    });

    // then
    await expect(failure).rejects.toBeInstanceOf(ConfigError);
    await expect(failure).rejects.toThrow(/ghost-cluster/);
  });
});
