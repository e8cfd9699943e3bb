import { SecretClient } from '@azure/keyvault-secrets';
import type { Clock } from '../../../shared/core/ports.js';
import {
  createAzureSource,
  createAzureSourceFactory,
  type AzureSourceFactory,
} from '../../../shared/sources/azure/index.js';
import type { SecretSource } from '../../../shared/core/ports.js';
import { StaticTokenCredential, type LocalKeyVault } from './key-vault-server.js';

/** The vault name the documented Event Grid payloads carry. */
export const DOC_VAULT = 'sample-kv';

/** A real SecretClient pointed at the local Key Vault server (local CA, no retries, fixed token). */
export function aSecretClient(kv: LocalKeyVault, credential = new StaticTokenCredential()): SecretClient {
  return new SecretClient(kv.vaultUrl, credential, {
    disableChallengeResourceVerification: true,
    tlsOptions: { ca: kv.caPem },
    retryOptions: { maxRetries: 0 },
  });
}

export function anAzureSource(
  kv: LocalKeyVault,
  overrides: { name?: string; vaultName?: string; clock?: Clock } = {},
): SecretSource {
  const options = {
    name: overrides.name ?? 'kv-main',
    client: aSecretClient(kv),
    vaultName: overrides.vaultName ?? DOC_VAULT,
  };
  return createAzureSource(overrides.clock === undefined ? options : { ...options, clock: overrides.clock });
}

/** The runtime's `azure` factory, wired to the local server; every azure source maps to `sample-kv`. */
export function aLocalAzureSourceFactory(
  kv: LocalKeyVault,
  sourceNames: readonly string[] = ['kv-main'],
): AzureSourceFactory {
  return createAzureSourceFactory({
    credential: new StaticTokenCredential(),
    clientOptions: {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: kv.caPem },
      retryOptions: { maxRetries: 0 },
    },
    vaultNames: Object.fromEntries(sourceNames.map((n) => [n, DOC_VAULT])),
  });
}

/** A clock the test moves by hand; sleeping returns at once. */
export function aFakeClock(start = Date.now()): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => new Date(now),
    sleep: () => Promise.resolve(),
    advance: (ms) => {
      now += ms;
    },
  };
}
