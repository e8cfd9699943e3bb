import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ClientSecretCredential } from '@azure/identity';
import { ClusterRejectedError } from '../../shared/core/errors.js';
import { AKS_SERVER_APP_SCOPE, createAksAuthenticator } from '../../shared/kube/auth/aks.js';
import { createKubeGateway } from '../../shared/kube/index.js';
import { startLocalFleet } from '../support/clusters.js';
import { aFakeClock } from './support/builders.js';
import { startLocalEntra, type LocalEntra } from './support/entra-server.js';

const TENANT = '11111111-2222-4333-8444-555555555555';
const CLIENT_ID = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const CLIENT_SECRET = 'local-client-secret';

/** The real ClientSecretCredential (MSAL), pointed at the local Entra endpoint; never the network. */
function aCredential(entra: LocalEntra): ClientSecretCredential {
  return new ClientSecretCredential(TENANT, CLIENT_ID, CLIENT_SECRET, {
    authorityHost: entra.authorityHost,
    disableInstanceDiscovery: true,
    tlsOptions: { ca: entra.caPem },
    retryOptions: { maxRetries: 0 },
  });
}

const aCluster = (auth: { type: 'aks'; scope?: string } = { type: 'aks' }, name = 'aks-eu-1') => ({
  name,
  server: 'https://aks-eu-1.hcp.westeurope.azmk8s.io',
  auth,
});

describe('AKS authenticator (Entra ID token via @azure/identity against a local token endpoint)', () => {
  let entra: LocalEntra;
  beforeAll(async () => {
    // 200 s is inside MSAL's own 5-minute refresh window, so every getToken reaches the endpoint
    // and the grant count shows exactly what the authenticator's cache did.
    entra = await startLocalEntra({ expiresInSeconds: 200, clientSecret: CLIENT_SECRET });
  });
  afterAll(async () => {
    await entra.stop();
  });

  it('gets a token for the AKS server application scope by default and reuses it for every cluster until shortly before expiry', async () => {
    // given
    const clock = aFakeClock();
    const auth = createAksAuthenticator({ credential: aCredential(entra), clock, refreshBeforeMs: 120_000 });
    const before = entra.grants().length;
    // when
    const first = await auth.credentials(aCluster());
    const second = await auth.credentials(aCluster({ type: 'aks' }, 'aks-us-1'));
    clock.advance(60_000);
    const third = await auth.credentials(aCluster());
    clock.advance(30_000); // 90 s: inside the 2-minute refresh margin of a 200 s token
    const fourth = await auth.credentials(aCluster());
    // then
    const grants = entra.grants().slice(before);
    expect(grants).toHaveLength(2);
    expect(grants[0]).toMatchObject({
      scope: expect.stringContaining(AKS_SERVER_APP_SCOPE),
      clientId: CLIENT_ID,
    });
    expect(first.token).toBe(grants[0]?.token);
    expect(second.token).toBe(first.token);
    expect(third.token).toBe(first.token);
    expect(fourth.token).toBe(grants[1]?.token);
    expect(first.expiresAt?.getTime()).toBeLessThan(Date.now() + 200_000 - 100_000);
  });

  it('uses the scope the registry gives', async () => {
    // given
    const auth = createAksAuthenticator({ credential: aCredential(entra) });
    const before = entra.grants().length;
    // when
    await auth.credentials(aCluster({ type: 'aks', scope: 'api://my-aks-proxy/.default' }));
    // then
    expect(entra.grants().slice(before)[0]?.scope).toContain('api://my-aks-proxy/.default');
  });

  it('shares one token request among concurrent callers', async () => {
    // given
    const auth = createAksAuthenticator({ credential: aCredential(entra) });
    const before = entra.grants().length;
    // when
    const tokens = await Promise.all(
      [1, 2, 3, 4].map((i) => auth.credentials(aCluster({ type: 'aks' }, `aks-${i}`))),
    );
    // then
    expect(entra.grants().length - before).toBe(1);
    expect(new Set(tokens.map((t) => t.token)).size).toBe(1);
  });

  it('turns a refused client into a non-retryable ClusterRejectedError without the secret', async () => {
    // given
    const auth = createAksAuthenticator({ credential: aCredential(entra) });
    entra.refuseNext();
    // when
    const error = await auth.credentials(aCluster()).catch((e: unknown) => e);
    // then
    expect(error).toBeInstanceOf(ClusterRejectedError);
    expect((error as Error).message).toContain('aks-eu-1');
    expect((error as Error).message).not.toContain(CLIENT_SECRET);
  });

  it('authenticates the Kubernetes gateway to an Entra-integrated cluster with the managed identity token', async () => {
    // given: a cluster that accepts exactly the token Entra ID issues to the identity
    const fleet = await startLocalFleet({ names: ['aks-eu-1'] });
    try {
      const cluster = fleet.clusters[0];
      if (cluster === undefined) throw new Error('no cluster');
      fleet.state.seedSecret('aks-eu-1', {
        metadata: { name: 'db-credentials', namespace: 'payments' },
        data: { password: 'cGFzcw==' },
      });
      const auth = createAksAuthenticator({ credential: aCredential(entra) });
      const spec = { name: 'aks-eu-1', server: cluster.server, auth: { type: 'aks' as const } };
      const issued = (await auth.credentials(spec)).token ?? '';
      fleet.addToken('aks-eu-1', issued, {
        user: 'function-identity',
        namespaces: ['payments'],
        verbs: ['get', 'list'],
        resources: ['secrets'],
      });
      const gateway = createKubeGateway({
        name: 'aks-eu-1',
        server: cluster.server,
        caData: cluster.caData,
        credentials: () => auth.credentials(spec),
      });
      // when
      const secret = await gateway.getSecret('payments', 'db-credentials');
      gateway.close();
      // then
      expect(issued).toMatch(/^entra-token-/);
      expect(secret?.data).toEqual({ password: 'cGFzcw==' });
    } finally {
      await fleet.stop();
    }
  });
});
