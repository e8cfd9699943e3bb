import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { SecretClient } from '@azure/keyvault-secrets';
import { QueueClient } from '@azure/storage-queue';
import { stringify } from 'yaml';
import { createAzureApp, workQueueFromEnv } from '../../functions/azure/app.js';
import { createManagedIdentityCredential, resourceOf } from '../../functions/azure/managed-identity.js';
import { createInvocationLogger } from '../../functions/azure/telemetry.js';
import { parseWorkItem } from '../../functions/azure/work-queue.js';
import { ChangeKind } from '../../shared/core/change.js';
import {
  AccessDeniedError,
  ClusterRejectedError,
  ClusterUnavailableError,
} from '../../shared/core/errors.js';
import { createAksAuthenticator } from '../../shared/kube/auth/aks.js';
import { AKS_SERVER_APP_SCOPE, createAksTokenAuthenticator } from '../../shared/kube/auth/aks-token.js';
import { parseRegistry } from '../../shared/registry/load.js';
import { createAzureSource } from '../../shared/sources/azure/key-vault.js';
import { localSourceFactory } from '../../shared/sources/local/index.js';
import { startLocalFleet } from '../support/clusters.js';
import { startAzuriteQueue } from './support/azurite.js';
import { aFakeClock } from './support/builders.js';
import { aTimer, createContextFactory } from './support/functions-host.js';
import {
  API_VERSION,
  startLocalIdentityEndpoint,
  type LocalIdentityEndpoint,
} from './support/identity-endpoint.js';
import { startLocalKeyVault, type LocalKeyVault } from './support/key-vault-server.js';

const VAULT_RESOURCE = 'https://vault.azure.net';
const AKS_RESOURCE = AKS_SERVER_APP_SCOPE.replace(/\/\.default$/, '');
const STORAGE_RESOURCE = 'https://storage.azure.com';
const KV_TOKEN = 'canary-kv-token-3f1a';
const USER_ASSIGNED = '0f0e0d0c-0b0a-4909-8807-060504030201';

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('resourceOf (scope -> the resource the identity endpoint takes)', () => {
  it.each([
    ['https://vault.azure.net/.default', 'https://vault.azure.net'],
    [['https://storage.azure.com/.default'], 'https://storage.azure.com'],
    [AKS_SERVER_APP_SCOPE, AKS_RESOURCE],
    ['api://my-aks-proxy', 'api://my-aks-proxy'],
  ])('%j -> %s', (scopes, resource) => {
    expect(resourceOf(scopes)).toBe(resource);
  });

  it('refuses more than one scope (a token is for one resource)', () => {
    expect(() =>
      resourceOf(['https://vault.azure.net/.default', 'https://storage.azure.com/.default']),
    ).toThrow(RangeError);
  });
});

describe('managed identity credential (App Service / Functions identity endpoint on loopback)', () => {
  let identity: LocalIdentityEndpoint;
  let kv: LocalKeyVault;
  beforeAll(async () => {
    [identity, kv] = await Promise.all([
      startLocalIdentityEndpoint({ userAssignedClientIds: [USER_ASSIGNED] }),
      startLocalKeyVault({ token: KV_TOKEN }),
    ]);
  });
  afterEach(() => {
    identity.resetRequests();
    identity.setLifetime(86_400);
  });
  afterAll(async () => {
    await Promise.all([identity.stop(), kv.stop()]);
  });

  /** The real SecretClient with the managed identity credential, against the local vault. */
  const aKeyVaultSource = (credential: ReturnType<typeof createManagedIdentityCredential>) =>
    createAzureSource({
      name: 'kv-main',
      vaultName: 'sample-kv',
      client: new SecretClient(kv.vaultUrl, credential, {
        disableChallengeResourceVerification: true,
        tlsOptions: { ca: kv.caPem },
        retryOptions: { maxRetries: 0 },
      }),
    });

  it('reads a Key Vault secret through the real SecretClient with the token the endpoint issues for the vault resource', async () => {
    // given
    identity.setToken(VAULT_RESOURCE, KV_TOKEN);
    kv.setSecret('db-password', 'canary-mi-read-71c2');
    const source = aKeyVaultSource(createManagedIdentityCredential({ env: identity.env() }));
    // when
    const value = await source.read('db-password');
    // then
    expect(decode(value.bytes)).toBe('canary-mi-read-71c2');
    expect(identity.requests()).toEqual([
      { resource: VAULT_RESOURCE, apiVersion: API_VERSION, headerOk: true, token: KV_TOKEN },
    ]);
  });

  it('asks for the user-assigned identity named by AZURE_CLIENT_ID', async () => {
    // given
    identity.setToken(VAULT_RESOURCE, KV_TOKEN);
    kv.setSecret('ua-secret', 'v');
    const source = aKeyVaultSource(
      createManagedIdentityCredential({ env: identity.env({ AZURE_CLIENT_ID: USER_ASSIGNED }) }),
    );
    // when
    await source.read('ua-secret');
    // then
    expect(identity.requests().map((r) => r.clientId)).toEqual([USER_ASSIGNED]);
  });

  it('reuses its token until shortly before expiry, then fetches a new one', async () => {
    // given: 10-minute tokens, refreshed 5 minutes before they expire
    identity.setLifetime(600);
    const clock = aFakeClock();
    const credential = createManagedIdentityCredential({
      env: identity.env(),
      clock,
      refreshBeforeMs: 300_000,
    });
    // when
    const first = await credential.getToken(`${VAULT_RESOURCE}/.default`);
    clock.advance(240_000);
    const second = await credential.getToken([`${VAULT_RESOURCE}/.default`]);
    clock.advance(90_000); // 5.5 min: inside the refresh margin
    const third = await credential.getToken(`${VAULT_RESOURCE}/.default`);
    // then
    const issued = identity.requests().map((r) => r.token);
    expect(issued).toHaveLength(2);
    expect(first.token).toBe(issued[0]);
    expect(second.token).toBe(first.token);
    expect(third.token).toBe(issued[1]);
    expect(third.expiresOnTimestamp).toBeGreaterThan(first.expiresOnTimestamp - 1000);
  });

  it('keeps one token per resource', async () => {
    // given
    const credential = createManagedIdentityCredential({ env: identity.env() });
    // when
    const vault = await credential.getToken(`${VAULT_RESOURCE}/.default`);
    const aks = await credential.getToken(AKS_SERVER_APP_SCOPE);
    // then
    expect(identity.requests().map((r) => r.resource)).toEqual([VAULT_RESOURCE, AKS_RESOURCE]);
    expect(aks.token).not.toBe(vault.token);
  });

  it('lets concurrent callers share one token request', async () => {
    // given
    const credential = createManagedIdentityCredential({ env: identity.env() });
    const gate = identity.hold();
    // when
    const pending = [1, 2, 3, 4, 5].map(() => credential.getToken(`${VAULT_RESOURCE}/.default`));
    await new Promise((resolve) => setTimeout(resolve, 50));
    gate.release();
    const tokens = await Promise.all(pending);
    // then
    expect(identity.requests()).toHaveLength(1);
    expect(new Set(tokens.map((t) => t.token)).size).toBe(1);
  });

  it('tries again when the endpoint answers 503, and succeeds', async () => {
    // given
    const credential = createManagedIdentityCredential({ env: identity.env(), clock: aFakeClock() });
    identity.setFault({ status: 503, times: 2 });
    // when
    const token = await credential.getToken(`${VAULT_RESOURCE}/.default`);
    // then
    expect(identity.requests()).toHaveLength(3);
    expect(token.token).toBe(identity.requests()[2]?.token);
  });

  it('keeps using a still-valid token when an early refresh fails', async () => {
    // given
    identity.setLifetime(600);
    const clock = aFakeClock();
    const credential = createManagedIdentityCredential({ env: identity.env(), clock, attempts: 1 });
    const first = await credential.getToken(`${VAULT_RESOURCE}/.default`);
    clock.advance(400_000); // inside the refresh margin, not expired
    identity.setFault({ status: 500 });
    // when
    const second = await credential.getToken(`${VAULT_RESOURCE}/.default`);
    // then
    expect(identity.requests()).toHaveLength(2);
    expect(second.token).toBe(first.token);
  });

  it('fails a refused identity with the status and a hint, never the identity header', async () => {
    // given: a client id that is not one of the app's identities
    const credential = createManagedIdentityCredential({
      env: identity.env({ AZURE_CLIENT_ID: 'ffffffff-ffff-4fff-8fff-ffffffffffff' }),
    });
    // when
    const error = await credential.getToken(`${VAULT_RESOURCE}/.default`).catch((e: unknown) => e);
    // then
    expect(error).toMatchObject({ name: 'AuthenticationError', statusCode: 400 });
    expect((error as Error).message).toContain('HTTP 400');
    expect((error as Error).message).toContain('AZURE_CLIENT_ID');
    expect((error as Error).message).not.toContain(identity.header);
    expect(identity.requests()).toHaveLength(1);
  });

  it('maps a refused identity to AccessDeniedError in the Key Vault source', async () => {
    // given
    kv.setSecret('denied', 'v');
    const source = aKeyVaultSource(
      createManagedIdentityCredential({ env: identity.env({ AZURE_CLIENT_ID: 'not-an-identity' }) }),
    );
    // when
    const error = await source.read('denied').catch((e: unknown) => e);
    // then
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect((error as Error).message).not.toContain(identity.header);
  });

  it('says what is missing when the app has no managed identity endpoint, without any request', async () => {
    // given
    const credential = createManagedIdentityCredential({ env: {} });
    // when
    const error = await credential.getToken(`${VAULT_RESOURCE}/.default`).catch((e: unknown) => e);
    // then
    expect(error).toMatchObject({ name: 'CredentialUnavailableError' });
    expect((error as Error).message).toContain('IDENTITY_ENDPOINT');
    expect(identity.requests()).toHaveLength(0);
  });

  describe('with the AKS authenticator', () => {
    it('turns a missing identity into ClusterRejectedError and a busy endpoint into ClusterUnavailableError', async () => {
      // given
      const unavailable = createAksTokenAuthenticator({
        credential: createManagedIdentityCredential({ env: {} }),
      });
      const busy = createAksTokenAuthenticator({
        credential: createManagedIdentityCredential({
          env: identity.env(),
          clock: aFakeClock(),
          attempts: 2,
        }),
      });
      identity.setFault({ status: 503, times: 2 });
      const cluster = { name: 'aks-eu-1', server: 'https://127.0.0.1:1', auth: { type: 'aks' as const } };
      // when
      const rejected = await unavailable.credentials(cluster).catch((e: unknown) => e);
      const retryable = await busy.credentials(cluster).catch((e: unknown) => e);
      // then
      expect(rejected).toBeInstanceOf(ClusterRejectedError);
      expect(retryable).toBeInstanceOf(ClusterUnavailableError);
      expect((retryable as Error).message).toContain('HTTP 503');
    });
  });

  it('speaks the protocol MSAL speaks: the CLI default (DefaultAzureCredential) gets its AKS token from the same endpoint', async () => {
    // given: the platform's identity settings in the process environment, nothing else Azure
    const saved = { ...process.env };
    for (const key of Object.keys(process.env))
      if (/^(AZURE_|IDENTITY_|MSI_|IMDS_)/.test(key)) delete process.env[key];
    Object.assign(process.env, identity.env());
    identity.setToken(AKS_RESOURCE, 'canary-cli-aks-token-6a2f');
    try {
      const auth = createAksAuthenticator();
      // when
      const credentials = await auth.credentials({
        name: 'aks-eu-1',
        server: 'https://127.0.0.1:1',
        auth: { type: 'aks' },
      });
      // then
      expect(credentials.token).toBe('canary-cli-aks-token-6a2f');
      expect(identity.requests()).toEqual([
        {
          resource: AKS_RESOURCE,
          apiVersion: API_VERSION,
          headerOk: true,
          token: 'canary-cli-aks-token-6a2f',
        },
      ]);
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });

  it('is what the Function App uses by default: a reconcile writes to an AKS cluster with the identity token', async () => {
    // given: the app built as index.ts builds it, with the platform's identity settings
    const fleet = await startLocalFleet({ names: ['aks-eu-1'] });
    const dir = mkdtempSync(join(tmpdir(), 'azure-mi-'));
    try {
      const cluster = fleet.clusters[0];
      if (cluster === undefined) throw new Error('no cluster');
      fleet.state.seedNamespace('aks-eu-1', 'payments');
      identity.setToken(AKS_RESOURCE, 'canary-aks-app-token-52b7');
      fleet.addToken('aks-eu-1', 'canary-aks-app-token-52b7', {
        user: 'function-identity',
        namespaces: ['payments'],
        verbs: ['get', 'list', 'create', 'update', 'patch'],
        resources: ['secrets'],
      });
      writeFileSync(join(dir, 'store.json'), JSON.stringify({ 'db-password': 'canary-app-value-0c4d' }));
      const loaded = parseRegistry(
        stringify({
          apiVersion: 'secret-propagator/v1',
          settings: { retries: 0, targetTimeout: '5s' },
          clusters: [
            { name: 'aks-eu-1', server: cluster.server, caData: cluster.caData, auth: { type: 'aks' } },
          ],
          sources: [{ name: 'store', provider: 'local', path: 'store.json' }],
          bindings: [
            {
              name: 'payments-db',
              source: 'store',
              remoteRef: { key: 'db-password' },
              data: [{ secretKey: 'password' }],
              target: { name: 'db-credentials', namespace: 'payments', clusters: { names: ['aks-eu-1'] } },
            },
          ],
        }),
        'test-registry',
        dir,
      );
      const app = createAzureApp({
        loaded,
        sources: { local: localSourceFactory },
        workQueue: null,
        logger: createInvocationLogger({ level: 'debug' }),
        env: identity.env(),
      });
      const host = createContextFactory();
      // when
      await app.scheduled(aTimer(), host.context('scheduled'));
      app.runtime().close?.();
      // then
      const data = fleet.state.getSecret('aks-eu-1', 'payments', 'db-credentials')?.['data'] as
        Record<string, string> | undefined;
      expect(data?.['password']).toBe(Buffer.from('canary-app-value-0c4d').toString('base64'));
      expect(identity.requests()).toEqual([
        {
          resource: AKS_RESOURCE,
          apiVersion: API_VERSION,
          headerOk: true,
          token: 'canary-aks-app-token-52b7',
        },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await fleet.stop();
    }
  });

  it('sends fan-out work items to an identity-based Storage queue with a storage token from the endpoint', async () => {
    // given: Azurite over HTTPS accepting Entra ID bearer tokens, and the app settings infra/azure sets
    const azurite = await startAzuriteQueue({ oauth: true });
    const trusted = getCACertificates('default');
    // The app builds its QueueServiceClient exactly as deployed (no test TLS options), so trust the local CA here.
    setDefaultCACertificates([...trusted, azurite.caPem ?? '']);
    try {
      const queueName = 'work-mi';
      await new QueueClient(azurite.connectionString, queueName).create();
      identity.setToken(STORAGE_RESOURCE, aStorageAccessToken());
      const env = identity.env({
        AzureWebJobsStorage__queueServiceUri: azurite.queueServiceUri,
        WORK_QUEUE_NAME: queueName,
      });
      const queue = workQueueFromEnv(env, () => createManagedIdentityCredential({ env }));
      const item = {
        changeId: 'c-1',
        binding: 'payments-db',
        kind: ChangeKind.VersionCurrent,
        clusters: ['aks-1'],
      };
      // when
      await queue?.enqueue([item]);
      // then
      const received = await new QueueClient(azurite.connectionString, queueName).receiveMessages();
      const text = Buffer.from(received.receivedMessageItems[0]?.messageText ?? '', 'base64').toString(
        'utf8',
      );
      expect(parseWorkItem(text)).toMatchObject(item);
      expect(identity.requests().map((r) => r.resource)).toEqual([STORAGE_RESOURCE]);
    } finally {
      setDefaultCACertificates(trusted);
      await azurite.stop();
    }
  });
});

/** What Entra ID issues for Storage, as far as Azurite checks it (issuer, audience, validity; not the signature). */
function aStorageAccessToken(): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return [
    part({ typ: 'JWT', alg: 'RS256' }),
    part({
      aud: 'https://storage.azure.com',
      iss: 'https://sts.windows.net/72f988bf-0000-4000-8000-00000000c0de/',
      iat: now - 60,
      nbf: now - 60,
      exp: now + 3600,
      oid: 'canary-function-identity',
    }),
    'local-signature',
  ].join('.');
}
