import { GoogleAuth } from 'google-auth-library';
import { ClusterRejectedError, ClusterUnavailableError } from '../../shared/core/errors.js';
import type { Clock } from '../../shared/core/ports.js';
import { createGkeAuthenticator, GKE_SCOPE } from '../../shared/kube/auth/gke.js';
import { startFakeGoogleAuth, type FakeGoogleAuth } from './support/google-token-server.js';

function aClock(start = Date.now()): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => new Date(now),
    sleep: () => Promise.resolve(),
    advance(ms) {
      now += ms;
    },
  };
}

const cluster = (name: string) => ({ name, server: 'https://127.0.0.1:1', auth: { type: 'gke' as const } });

describe('gke authenticator over Application Default Credentials', () => {
  let google: FakeGoogleAuth;
  beforeEach(async () => {
    google = await startFakeGoogleAuth();
  });
  afterEach(async () => {
    await google.stop();
  });

  const adc = () => new GoogleAuth({ keyFilename: google.keyFile, scopes: [GKE_SCOPE] });

  it('gets one access token from the service account and shares it across clusters', async () => {
    // given
    const clock = aClock();
    const authenticator = createGkeAuthenticator({ auth: adc(), clock });
    // when
    const [a, b] = await Promise.all([
      authenticator.credentials(cluster('gke-a')),
      authenticator.credentials(cluster('gke-b')),
    ]);
    const c = await authenticator.credentials(cluster('gke-c'));
    // then
    expect(a.token).toBe('ya29.fake-1');
    expect(b.token).toBe('ya29.fake-1');
    expect(c.token).toBe('ya29.fake-1');
    expect(a.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 3_000_000);
    expect(google.tokenRequests()).toBe(1);
  });

  // Tokens here live 200 s, inside the library's own 5-minute eager-refresh window, so
  // every call that reaches the library asks the token endpoint: only our cache avoids it.
  it('after invalidate (a 401) asks Google again instead of answering with the cached token', async () => {
    // given: 200 s tokens, so the library itself asks the endpoint every time it is called
    google.setExpiresIn(200);
    const clock = aClock();
    const authenticator = createGkeAuthenticator({ auth: adc(), clock, refreshBeforeMs: 60_000 });
    const first = await authenticator.credentials(cluster('gke-a'));
    // when
    authenticator.invalidate(cluster('gke-a'));
    const fresh = await authenticator.credentials(cluster('gke-a'));
    // then
    expect(first.token).toBe('ya29.fake-1');
    expect(fresh.token).toBe('ya29.fake-2');
    expect(google.tokenRequests()).toBe(2);
  });

  it('serves from cache while the token is fresh, without asking Google', async () => {
    // given
    google.setExpiresIn(200);
    const clock = aClock();
    const authenticator = createGkeAuthenticator({ auth: adc(), clock, refreshBeforeMs: 60_000 });
    await authenticator.credentials(cluster('gke-a'));
    // when
    clock.advance(100_000);
    const again = await authenticator.credentials(cluster('gke-b'));
    // then
    expect(again.token).toBe('ya29.fake-1');
    expect(google.tokenRequests()).toBe(1);
  });

  it('asks for a new token shortly before the cached one expires', async () => {
    // given
    google.setExpiresIn(200);
    const clock = aClock();
    const authenticator = createGkeAuthenticator({ auth: adc(), clock, refreshBeforeMs: 60_000 });
    const first = await authenticator.credentials(cluster('gke-a'));
    // when
    clock.advance(141_000);
    const second = await authenticator.credentials(cluster('gke-a'));
    // then
    expect(first.token).toBe('ya29.fake-1');
    expect(second.token).toBe('ya29.fake-2');
    expect(google.tokenRequests()).toBe(2);
  });

  it('refuses definitively when Google rejects the service account (no token in the message)', async () => {
    // given
    google.failNext(400);
    const authenticator = createGkeAuthenticator({ auth: adc() });
    // when
    const error = await authenticator.credentials(cluster('gke-a')).catch((e: unknown) => e);
    // then
    expect(error).toBeInstanceOf(ClusterRejectedError);
    expect((error as Error).message).toContain('gke-a');
    expect((error as Error).message).toContain('HTTP 400');
  });

  it('reports the cluster unavailable when the token endpoint cannot be reached', async () => {
    // given
    const authenticator = createGkeAuthenticator({ auth: adc() });
    await google.stop();
    // when
    const error = await authenticator.credentials(cluster('gke-a')).catch((e: unknown) => e);
    // then
    expect(error).toBeInstanceOf(ClusterUnavailableError);
    expect((error as ClusterUnavailableError).retryable).toBe(true);
    google = await startFakeGoogleAuth();
  });
});
