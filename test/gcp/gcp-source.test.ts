import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import {
  AccessDeniedError,
  SecretNotFoundError,
  StoreError,
  ThrottledError,
} from '../../shared/core/errors.js';
import type { SecretSource } from '../../shared/core/ports.js';
import { createGcpSource, createSecretManagerClient } from '../../shared/sources/gcp/index.js';
import { startFakeSecretManager, type FakeSecretManager } from './support/secret-manager-server.js';
import { startFakeGoogleAuth, type FakeGoogleAuth } from './support/google-token-server.js';

const CANARY = 'canary-gcp-7f3a9c';

describe('gcp source over the Secret Manager REST protocol', () => {
  let store: FakeSecretManager;
  let auth: FakeGoogleAuth;
  let client: SecretManagerServiceClient;
  let source: SecretSource;

  beforeAll(async () => {
    auth = await startFakeGoogleAuth();
    store = await startFakeSecretManager({ project: 'demo-project', projectNumber: '123456789012' });
    client = createSecretManagerClient(
      { name: 'gcp-main', provider: 'gcp', project: 'demo-project', endpoint: store.endpoint },
      { clientOptions: { keyFilename: auth.keyFile } },
    );
    source = createGcpSource({
      name: 'gcp-main',
      client,
      project: 'demo-project',
      projectNumber: '123456789012',
    });
  });
  afterAll(async () => {
    await client.close();
    await store.stop();
    await auth.stop();
  });
  beforeEach(() => store.resetRequests());

  it('reads the latest version and resolves it to a concrete version number', async () => {
    // given
    store.addVersion('db', 'v1');
    store.addVersion('db', JSON.stringify({ password: CANARY }));
    // when
    const value = await source.read('db');
    // then
    expect(value.versionId).toBe('2');
    expect(Buffer.from(value.bytes).toString('utf8')).toBe(JSON.stringify({ password: CANARY }));
    expect(store.requests()).toEqual([
      { method: 'GET', path: '/v1/projects/demo-project/secrets/db/versions/latest:access' },
    ]);
  });

  it('reads a full secret name in another spelling of the project', async () => {
    // given
    store.addVersion('api-key', 'k1');
    // when
    const value = await source.read('projects/123456789012/secrets/api-key');
    // then
    expect(value.versionId).toBe('1');
    expect(Buffer.from(value.bytes).toString('utf8')).toBe('k1');
  });

  it('reads a pinned version', async () => {
    // given
    store.addVersion('pinned', 'one');
    store.addVersion('pinned', 'two');
    // when
    const value = await source.read('pinned', { version: '1' });
    // then
    expect(value.versionId).toBe('1');
    expect(Buffer.from(value.bytes).toString('utf8')).toBe('one');
  });

  it('falls back to the newest enabled version when the latest is disabled or destroyed', async () => {
    // given
    store.addVersion('rolled', 'one');
    store.addVersion('rolled', 'two');
    store.addVersion('rolled', 'three');
    store.setState('rolled', 3, 'DISABLED');
    store.setState('rolled', 2, 'DESTROYED');
    // when
    const value = await source.read('rolled');
    const current = await source.currentVersion?.('rolled');
    // then
    expect(value.versionId).toBe('1');
    expect(Buffer.from(value.bytes).toString('utf8')).toBe('one');
    expect(current).toBe('1');
  });

  it('reports the current version without reading the value', async () => {
    // given
    store.addVersion('meta', 'a');
    store.addVersion('meta', 'b');
    // when
    const current = await source.currentVersion?.('meta');
    // then
    expect(current).toBe('2');
    expect(store.requests().some((r) => r.path.endsWith(':access'))).toBe(false);
  });

  it('refuses a pinned version that is disabled, without retrying', async () => {
    // given
    store.addVersion('off', 'x');
    store.addVersion('off', 'y');
    store.setState('off', 1, 'DISABLED');
    // when
    const error = await source.read('off', { version: '1' }).catch((e: unknown) => e);
    // then
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).retryable).toBe(false);
    expect((error as Error).message).toContain('disabled or destroyed');
  });

  it('says a missing secret is not found', async () => {
    // when
    const error = await source.read('nope').catch((e: unknown) => e);
    // then
    expect(error).toBeInstanceOf(SecretNotFoundError);
    expect((error as Error).message).toContain('projects/demo-project/secrets/nope');
  });

  it('says a secret with no enabled version is not found', async () => {
    // given
    store.addVersion('all-off', 'x');
    store.setState('all-off', 1, 'DISABLED');
    // when
    const error = await source.read('all-off').catch((e: unknown) => e);
    // then
    expect(error).toBeInstanceOf(SecretNotFoundError);
  });

  it.each([
    ['PERMISSION_DENIED', 403, AccessDeniedError, false],
    ['RESOURCE_EXHAUSTED', 429, ThrottledError, true],
    ['UNAVAILABLE', 503, StoreError, true],
  ] as const)(
    'maps %s to a specific error without the value',
    async (status, httpStatus, type, retryable) => {
      // given
      store.addVersion('faulty', CANARY);
      store.setFault({ status, httpStatus, times: 1 });
      // when
      const error = await source.read('faulty').catch((e: unknown) => e);
      // then
      expect(error).toBeInstanceOf(type);
      expect((error as StoreError).retryable).toBe(retryable);
      expect(JSON.stringify({ message: (error as Error).message, error })).not.toContain(CANARY);
    },
  );

  it('rejects a payload whose CRC32C does not match, without the value', async () => {
    // given
    store.addVersion('corrupt', CANARY);
    store.corruptChecksums(true);
    // when
    const error = await source.read('corrupt').catch((e: unknown) => e);
    store.corruptChecksums(false);
    // then
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toContain('CRC32C');
    expect((error as Error).message).not.toContain(CANARY);
  });

  it('writes a new version with its checksum and returns the version number', async () => {
    // given
    store.addVersion('rotating', 'old');
    // when
    const written = await source.writeVersion?.('rotating', Buffer.from('new-generated'));
    // then
    expect(written).toEqual({ versionId: '2' });
    expect(store.versions('rotating').map((v) => v.value)).toEqual(['old', 'new-generated']);
  });
});

describe('gcp source refersTo', () => {
  const source = createGcpSource({
    name: 'gcp-main',
    client: {} as never,
    project: 'demo-project',
    projectNumber: '123456789012',
  });

  it.each([
    ['db', 'projects/123456789012/secrets/db', true],
    ['db', 'projects/demo-project/secrets/db', true],
    ['db', 'projects/123456789012/secrets/db/versions/3', true],
    ['db', 'projects/123456789012/secrets/dbx', false],
    ['db', 'projects/999/secrets/db', false],
    ['projects/demo-project/secrets/db', 'projects/123456789012/secrets/db', true],
    ['projects/other/secrets/db', 'projects/other/secrets/db', true],
    ['projects/other/secrets/db', 'projects/123456789012/secrets/db', false],
    ['db', 'db', false],
  ])('key %s vs event %s -> %s', (key, ref, expected) => {
    expect(source.refersTo(key, ref)).toBe(expected);
  });
});
