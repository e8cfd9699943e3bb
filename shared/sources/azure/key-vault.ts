// Type-only: the function bundle must not carry @azure/identity (the caller brings the credential).
import type { TokenCredential } from '@azure/identity';
import { SecretClient, type SecretClientOptions, type SecretProperties } from '@azure/keyvault-secrets';
import { Provider } from '../../core/change.js';
import { AccessDeniedError, SecretNotFoundError, StoreError, ThrottledError } from '../../core/errors.js';
import {
  systemClock,
  type Clock,
  type Logger,
  type SecretSource,
  type SecretValue,
} from '../../core/ports.js';
import type { SourceSpecOf } from '../../registry/schema.js';

/**
 * Azure Key Vault source adapter. The provider-specific part is small: read the current
 * version (latest enabled, inside its nbf/exp window), write a version for generated
 * rotation, and map SDK failures to the error hierarchy without ever including a value.
 */

export interface AzureSourceOptions {
  /** Registry name of this source. */
  name: string;
  /** A SecretClient for the source's vault (its `vaultUrl` is the vault). */
  client: SecretClient;
  /**
   * The vault name events carry (`data.VaultName`, `vault/name` refs).
   * @default the first DNS label of the client's vaultUrl (`https://<vault>.vault.azure.net`)
   */
  vaultName?: string;
  /** @default systemClock */
  clock?: Clock;
}

/** The vault name of a vault URL: `https://my-kv.vault.azure.net` -> `my-kv`. */
export function vaultNameOf(vaultUrl: string): string {
  const host = new URL(vaultUrl).hostname;
  return (host.split('.')[0] ?? host).toLowerCase();
}

/**
 * Parses the secret references Key Vault events and users write: `vault/name`,
 * `https://<vault>.vault.azure.net/secrets/<name>[/<version>]`, or a bare `name`.
 */
export function parseSecretRef(ref: string): { vault?: string; name: string; version?: string } {
  const trimmed = ref.trim();
  if (/^https:\/\//i.test(trimmed)) {
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      return { name: trimmed };
    }
    const parts = url.pathname.split('/').filter((p) => p !== '');
    if (parts[0]?.toLowerCase() !== 'secrets' || parts[1] === undefined) return { name: trimmed };
    const out: { vault?: string; name: string; version?: string } = {
      vault: vaultNameOf(url.href),
      name: decodeURIComponent(parts[1]),
    };
    if (parts[2] !== undefined) out.version = parts[2];
    return out;
  }
  const slash = trimmed.indexOf('/');
  if (slash > 0) return { vault: trimmed.slice(0, slash), name: trimmed.slice(slash + 1) };
  return { name: trimmed };
}

interface RestLikeError {
  statusCode?: number;
  code?: string;
}

function restFields(error: unknown): RestLikeError {
  if (typeof error !== 'object' || error === null) return {};
  const e = error as Record<string, unknown>;
  const out: RestLikeError = {};
  if (typeof e['statusCode'] === 'number') out.statusCode = e['statusCode'];
  if (typeof e['code'] === 'string') out.code = e['code'];
  return out;
}

/**
 * TokenCredential failures, by the names @azure/identity uses (the Function App's managed
 * identity credential follows them): the credential could not produce a token.
 */
const CREDENTIAL_ERRORS = new Set([
  'CredentialUnavailableError',
  'AuthenticationError',
  'AuthenticationRequiredError',
]);

/** Whether Key Vault would hand out this version now (enabled, inside nbf..exp). */
function isUsable(p: SecretProperties, now: Date): boolean {
  if (p.enabled === false) return false;
  if (p.expiresOn !== undefined && p.expiresOn.getTime() <= now.getTime()) return false;
  if (p.notBefore !== undefined && p.notBefore.getTime() > now.getTime()) return false;
  return true;
}

export function createAzureSource(options: AzureSourceOptions): SecretSource {
  const { name, client } = options;
  const clock = options.clock ?? systemClock;
  const vaultName = (options.vaultName ?? vaultNameOf(client.vaultUrl)).toLowerCase();
  const where = (key: string) => `azure source "${name}" (vault ${vaultName}): secret "${key}"`;

  /** Maps an SDK failure to our errors; messages carry names and status codes only. */
  const toError = (error: unknown, key: string, action: string): Error => {
    const { statusCode, code } = restFields(error);
    const credentialError = error instanceof Error && CREDENTIAL_ERRORS.has(error.name);
    if (credentialError) {
      // The token request failed before Key Vault was asked: its status is the identity
      // endpoint's (or Entra ID's), not the vault's.
      const detail = `${action} failed: no token (${error.name}${statusCode === undefined ? '' : `, HTTP ${statusCode}`})`;
      const transient =
        statusCode === undefined
          ? error.name === 'AuthenticationError'
          : statusCode === 408 || statusCode === 429 || statusCode >= 500;
      if (transient) return new StoreError(`${where(key)}: ${detail}`, { cause: error, retryable: true });
      return new AccessDeniedError(
        `${where(key)}: ${detail}; check the identity the function runs as (managed identity, AZURE_CLIENT_ID)`,
        { cause: error },
      );
    }
    const detail = `${action} failed${statusCode === undefined ? '' : ` with HTTP ${statusCode}`}${code === undefined ? '' : ` (${code})`}`;
    const opts = statusCode === undefined ? { cause: error } : { cause: error, status: statusCode };
    switch (statusCode ?? 0) {
      case 404:
        return new SecretNotFoundError(
          `${where(key)} not found: ${detail}; check remoteRef.key and the vault URL`,
          opts,
        );
      case 401:
      case 403:
        return new AccessDeniedError(
          `${where(key)}: ${detail}; grant the function's identity "Key Vault Secrets User" (read) or "Key Vault Secrets Officer" (rotation) on the vault`,
          opts,
        );
      case 429:
        return new ThrottledError(`${where(key)}: ${detail}; Key Vault is throttling`, opts);
      default:
        return new StoreError(`${where(key)}: ${detail}`, {
          ...opts,
          retryable: statusCode === undefined || statusCode >= 500 || statusCode === 408,
        });
    }
  };

  const readVersion = async (
    key: string,
    version: string | undefined,
  ): Promise<{ value: SecretValue; usable: boolean }> => {
    let secret;
    try {
      secret = version === undefined ? await client.getSecret(key) : await client.getSecret(key, { version });
    } catch (error) {
      throw toError(error, key, version === undefined ? 'get' : `get version ${version}`);
    }
    if (secret.value === undefined)
      throw new StoreError(`${where(key)}: Key Vault returned no value`, { retryable: true });
    const out: SecretValue = {
      versionId: secret.properties.version ?? version ?? '',
      bytes: new TextEncoder().encode(secret.value),
    };
    if (secret.properties.createdOn !== undefined) out.createdAt = secret.properties.createdOn;
    if (secret.properties.contentType !== undefined) out.contentType = secret.properties.contentType;
    return { value: out, usable: isUsable(secret.properties, clock.now()) };
  };

  /** The newest usable version id, from the versions listing (metadata only, no values). */
  const latestUsableVersion = async (key: string): Promise<string> => {
    const now = clock.now();
    let best: SecretProperties | undefined;
    try {
      for await (const p of client.listPropertiesOfSecretVersions(key)) {
        if (!isUsable(p, now)) continue;
        if (best === undefined || (p.createdOn?.getTime() ?? 0) > (best.createdOn?.getTime() ?? 0)) best = p;
      }
    } catch (error) {
      throw toError(error, key, 'list versions');
    }
    if (best?.version === undefined) {
      throw new SecretNotFoundError(
        `${where(key)} has no enabled, unexpired version; enable or add a version`,
      );
    }
    return best.version;
  };

  const read = async (key: string, readOptions?: { version?: string }): Promise<SecretValue> => {
    if (readOptions?.version !== undefined) return (await readVersion(key, readOptions.version)).value;
    // Fast path: the latest version is usually the current one (one request).
    let first: { value: SecretValue; usable: boolean } | undefined;
    try {
      first = await readVersion(key, undefined);
    } catch (error) {
      // A disabled latest version answers 403; fall back to the versions listing, which
      // also tells a real access problem apart (the listing then fails the same way).
      if (!(error instanceof AccessDeniedError)) throw error;
    }
    if (first?.usable === true) return first.value;
    const version = await latestUsableVersion(key);
    return (await readVersion(key, version)).value;
  };

  return {
    provider: Provider.Azure,
    name,
    read,
    refersTo(key, changeRef) {
      const change = parseSecretRef(changeRef);
      const bound = parseSecretRef(key);
      if (change.vault !== undefined && change.vault.toLowerCase() !== vaultName) return false;
      if (bound.vault !== undefined && bound.vault.toLowerCase() !== vaultName) return false;
      // Key Vault secret names are case-insensitive.
      return change.name.toLowerCase() === bound.name.toLowerCase();
    },
    async currentVersion(key) {
      return (await read(key)).versionId;
    },
    async writeVersion(key, bytes) {
      let result;
      try {
        result = await client.setSecret(key, new TextDecoder().decode(bytes));
      } catch (error) {
        throw toError(error, key, 'set');
      }
      const versionId = result.properties.version;
      if (versionId === undefined)
        throw new StoreError(`${where(key)}: set returned no version`, { retryable: true });
      return { versionId };
    },
  };
}

export interface AzureSourceFactoryOptions {
  /**
   * How every SecretClient authenticates. The caller chooses: the Function App passes its
   * managed identity (functions/azure/managed-identity.ts), the CLI a DefaultAzureCredential
   * (`azureSourceFactory` in ./index.ts). Kept out of this module so that the function
   * bundle does not carry @azure/identity.
   */
  credential: TokenCredential;
  /** Passed to every SecretClient (tests: TLS CA, retry options, challenge verification). */
  clientOptions?: SecretClientOptions;
  /** Vault name per source name, when the vault URL does not start with it (local test servers). */
  vaultNames?: Readonly<Record<string, string>>;
}

export type AzureSourceFactory = (
  spec: SourceSpecOf<'azure'>,
  ctx: { baseDir: string; logger: Logger },
) => SecretSource;

/** Builds the `azure` entry of the runtime's SourceFactories. */
export function createAzureSourceFactory(options: AzureSourceFactoryOptions): AzureSourceFactory {
  const { credential } = options;
  return (spec) => {
    const client = new SecretClient(spec.vaultUrl, credential, options.clientOptions);
    const vaultName = options.vaultNames?.[spec.name];
    return createAzureSource(
      vaultName === undefined ? { name: spec.name, client } : { name: spec.name, client, vaultName },
    );
  };
}
