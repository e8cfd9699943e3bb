import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { AccessDeniedError, SecretNotFoundError, ThrottledError } from '../../shared/core/errors.js';
import { createAzureSource, parseSecretRef } from '../../shared/sources/azure/index.js';
import { anAzureSource, aSecretClient } from './support/builders.js';
import {
  StaticTokenCredential,
  TEST_TENANT,
  startLocalKeyVault,
  type LocalKeyVault,
} from './support/key-vault-server.js';

const CANARY = 'canary-value-7f3a9c';
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

describe('azure Key Vault source (real SecretClient against a local Key Vault server)', () => {
  let kv: LocalKeyVault;
  beforeAll(async () => {
    kv = await startLocalKeyVault();
  });
  afterAll(async () => {
    await kv.stop();
  });
  beforeEach(() => kv.resetRequests());

  it('reads the latest version with its content type and creation time, after answering the bearer challenge', async () => {
    // given
    kv.setSecret('db-password', 'old-value');
    const latest = kv.setSecret('db-password', '{"password":"new-value"}', {
      contentType: 'application/json',
    });
    const source = anAzureSource(kv);
    // when
    const value = await source.read('db-password');
    // then
    expect(value.versionId).toBe(latest);
    expect(decode(value.bytes)).toBe('{"password":"new-value"}');
    expect(value.contentType).toBe('application/json');
    expect(value.createdAt).toBeInstanceOf(Date);
    expect(kv.requests()[0]).toMatchObject({ authorized: false });
    expect(kv.requests().some((r) => r.authorized)).toBe(true);
  });

  it('asks the credential for the vault scope in the tenant named by the challenge', async () => {
    // given
    kv.setSecret('scoped', 'v');
    const credential = new StaticTokenCredential();
    const source = createAzureSource({
      name: 'kv-main',
      client: aSecretClient(kv, credential),
      vaultName: 'sample-kv',
    });
    // when
    await source.read('scoped');
    // then
    expect(credential.calls[0]).toEqual({
      scopes: ['https://vault.azure.net/.default'],
      tenantId: TEST_TENANT,
    });
  });

  it('skips a disabled latest version and converges to the newest enabled one', async () => {
    // given
    const good = kv.setSecret('rotating', 'good');
    const bad = kv.setSecret('rotating', 'bad');
    kv.setEnabled('rotating', bad, false);
    // when
    const value = await anAzureSource(kv).read('rotating');
    // then
    expect(value.versionId).toBe(good);
    expect(decode(value.bytes)).toBe('good');
  });

  it('skips an expired latest version', async () => {
    // given
    const good = kv.setSecret('expiring', 'still-valid');
    kv.setSecret('expiring', 'expired', { expiresOn: new Date(Date.now() - 60_000) });
    // when
    const value = await anAzureSource(kv).read('expiring');
    // then
    expect(value.versionId).toBe(good);
  });

  it('reads a named version', async () => {
    // given
    const first = kv.setSecret('pinned', 'first');
    kv.setSecret('pinned', 'second');
    // when
    const value = await anAzureSource(kv).read('pinned', { version: first });
    // then
    expect(decode(value.bytes)).toBe('first');
  });

  it('throws SecretNotFoundError for a missing secret, naming it and never a value', async () => {
    // given
    const source = anAzureSource(kv);
    // when
    const error = await source.read('does-not-exist').catch((e: unknown) => e);
    // then
    expect(error).toBeInstanceOf(SecretNotFoundError);
    expect((error as Error).message).toContain('does-not-exist');
    expect((error as SecretNotFoundError).status).toBe(404);
  });

  it('throws SecretNotFoundError when every version is disabled', async () => {
    // given
    const only = kv.setSecret('all-disabled', CANARY);
    kv.setEnabled('all-disabled', only, false);
    // when
    const error = await anAzureSource(kv)
      .read('all-disabled')
      .catch((e: unknown) => e);
    // then
    expect(error).toBeInstanceOf(SecretNotFoundError);
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(CANARY);
  });

  it('maps 403 to AccessDeniedError and 429 to a retryable ThrottledError, without values', async () => {
    // given
    kv.setSecret('guarded', CANARY);
    const source = anAzureSource(kv);
    // when
    kv.setFault({ status: 403, times: 2 });
    const denied = await source.read('guarded').catch((e: unknown) => e);
    kv.setFault({ status: 429, times: 1 });
    const throttled = await source.read('guarded').catch((e: unknown) => e);
    // then
    expect(denied).toBeInstanceOf(AccessDeniedError);
    expect((denied as Error).message).toContain('Key Vault Secrets User');
    expect(throttled).toBeInstanceOf(ThrottledError);
    expect((throttled as ThrottledError).retryable).toBe(true);
    for (const e of [denied, throttled]) expect((e as Error).message).not.toContain(CANARY);
  });

  it('writes a generated version with setSecret and returns its id', async () => {
    // given
    kv.setSecret('generated', 'before');
    const source = anAzureSource(kv);
    // when
    const { versionId } = await (source.writeVersion ?? (() => Promise.reject(new Error('no writeVersion'))))(
      'generated',
      new TextEncoder().encode('after'),
    );
    // then
    expect(kv.versions('generated').at(-1)).toMatchObject({ version: versionId, value: 'after' });
    expect(decode((await source.read('generated')).bytes)).toBe('after');
  });

  it.each([
    ['sample-kv/db-password', 'db-password', true],
    ['SAMPLE-KV/DB-Password', 'db-password', true],
    [
      'https://sample-kv.vault.azure.net/secrets/db-password/ee059b2bb5bc48398a53b168c6cdcb10',
      'db-password',
      true,
    ],
    ['https://sample-kv.vault.azure.net/secrets/db-password', 'db-password', true],
    ['other-kv/db-password', 'db-password', false],
    ['https://other-kv.vault.azure.net/secrets/db-password', 'db-password', false],
    ['sample-kv/db-password-2', 'db-password', false],
    ['sample-kv/db-password', 'https://sample-kv.vault.azure.net/secrets/db-password', true],
  ])('refersTo(%s) for key %s is %s', (changeRef, key, expected) => {
    expect(anAzureSource(kv).refersTo(key, changeRef)).toBe(expected);
  });

  it('parses full secret ids', () => {
    expect(parseSecretRef('https://sample-kv.vault.azure.net/secrets/n/v1')).toEqual({
      vault: 'sample-kv',
      name: 'n',
      version: 'v1',
    });
  });
});
