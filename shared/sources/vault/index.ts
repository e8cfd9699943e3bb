import { readFile } from 'node:fs/promises';
import { ConfigError, SecretNotFoundError, StoreError } from '../../core/errors.js';
import type { Logger, SecretSource, SecretValue } from '../../core/ports.js';
import type { SourceSpecOf } from '../../registry/schema.js';
import { goJson } from '../../template/go/values.js';
import { VaultClient, type VaultAuth } from './client.js';

export { VaultClient, toVaultError, type VaultAuth, type VaultClientOptions } from './client.js';
export {
  createFilePollState,
  createMemoryPollState,
  pollRegistryVaults,
  pollVault,
  vaultKeysBySource,
  type PollState,
  type PollVaultOptions,
} from './poll.js';

export interface VaultSourceOptions {
  name: string;
  client: VaultClient;
  /** KV v2 mount. @default "secret" */
  mount?: string;
}

/** The vault source: a SecretSource that also knows its mount and always answers `currentVersion`. */
export interface VaultSource extends SecretSource {
  readonly provider: 'vault';
  readonly mount: string;
  currentVersion(key: string): Promise<string>;
  writeVersion(key: string, bytes: Uint8Array): Promise<{ versionId: string }>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function encodePath(path: string): string {
  return path
    .split('/')
    .filter((part) => part !== '')
    .map(encodeURIComponent)
    .join('/');
}

type KvRead = {
  data?: {
    data?: unknown;
    metadata?: { version?: unknown; created_time?: unknown; deleted_time?: unknown; destroyed?: unknown };
  };
};
type KvMetadata = { data?: { current_version?: unknown } };

/**
 * HashiCorp Vault KV v2. `read` returns the secret's data map as JSON (keys sorted,
 * compact, as ESO's Vault provider marshals it), so `property` and `dataFrom.extract`
 * work as in ESO. Versions are KV v2 version numbers.
 */
export function createVaultSource(options: VaultSourceOptions): VaultSource {
  const { client, name } = options;
  const mount = (options.mount ?? 'secret').replace(/^\/+|\/+$/g, '');

  async function read(key: string, readOptions: { version?: string } = {}): Promise<SecretValue> {
    const what = `Vault KV read of "${mount}/${key}"`;
    const query =
      readOptions.version === undefined ? '' : `?version=${encodeURIComponent(readOptions.version)}`;
    const response = await client.request('GET', `/v1/${mount}/data/${encodePath(key)}${query}`, what);
    if (response.status !== 200) client.fail(response, what);
    const body = response.body as KvRead | null;
    const metadata = body?.data?.metadata;
    const data = body?.data?.data;
    if (
      metadata?.destroyed === true ||
      (typeof metadata?.deleted_time === 'string' && metadata.deleted_time !== '') ||
      data === null ||
      data === undefined
    ) {
      throw new SecretNotFoundError(`${what}: the version is deleted or destroyed`);
    }
    if (typeof data !== 'object' || Array.isArray(data) || typeof metadata?.version !== 'number') {
      throw new StoreError(`${what}: the answer is not a KV v2 secret (is "${mount}" a KV v2 mount?)`, {
        retryable: false,
      });
    }
    const created = typeof metadata.created_time === 'string' ? new Date(metadata.created_time) : undefined;
    return {
      versionId: String(metadata.version),
      ...(created !== undefined && !Number.isNaN(created.getTime()) ? { createdAt: created } : {}),
      bytes: encoder.encode(goJson(data)),
      contentType: 'application/json',
    };
  }

  async function currentVersion(key: string): Promise<string> {
    const what = `Vault KV metadata of "${mount}/${key}"`;
    const response = await client.request('GET', `/v1/${mount}/metadata/${encodePath(key)}`, what);
    if (response.status !== 200) client.fail(response, what);
    const version = (response.body as KvMetadata | null)?.data?.current_version;
    if (typeof version !== 'number')
      throw new StoreError(`${what}: the answer has no current_version`, { retryable: false });
    if (version === 0) throw new SecretNotFoundError(`${what}: the secret has no versions`);
    return String(version);
  }

  async function writeVersion(key: string, bytes: Uint8Array): Promise<{ versionId: string }> {
    const what = `Vault KV write of "${mount}/${key}"`;
    let data: unknown;
    try {
      data = JSON.parse(decoder.decode(bytes));
    } catch {
      data = undefined;
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new StoreError(
        `${what}: KV v2 stores JSON objects; the generated value is not one (use rotation.generator.property)`,
        { retryable: false },
      );
    }
    const response = await client.request('POST', `/v1/${mount}/data/${encodePath(key)}`, what, { data });
    if (response.status !== 200 && response.status !== 204) client.fail(response, what);
    const version = (response.body as { data?: { version?: unknown } } | null)?.data?.version;
    if (typeof version !== 'number')
      throw new StoreError(`${what}: the answer named no version`, { retryable: false });
    return { versionId: String(version) };
  }

  /** `key`, `mount/key` and `mount/data/key` all name the same secret. */
  function refersTo(key: string, changeRef: string): boolean {
    const bare = key.replace(/^\/+/, '');
    const ref = changeRef.replace(/^\/+/, '');
    return ref === bare || ref === `${mount}/${bare}` || ref === `${mount}/data/${bare}`;
  }

  return { provider: 'vault', name, mount, read, refersTo, currentVersion, writeVersion };
}

/**
 * Builds the client from a registry source: token from the env var `tokenEnv`,
 * Kubernetes auth from the service account token file, AppRole with the secret id
 * from the env var `secretIdEnv`.
 */
export function createVaultClient(
  spec: SourceSpecOf<'vault'>,
  env: NodeJS.ProcessEnv = process.env,
): VaultClient {
  const fromEnv = (variable: string) => () => {
    const value = env[variable];
    if (value === undefined || value === '')
      return Promise.reject(
        new ConfigError(`vault source "${spec.name}": environment variable ${variable} is not set`),
      );
    return Promise.resolve(value);
  };
  let auth: VaultAuth;
  switch (spec.auth.type) {
    case 'token':
      auth = { type: 'token', token: fromEnv(spec.auth.tokenEnv) };
      break;
    case 'kubernetes': {
      const tokenPath = spec.auth.tokenPath;
      auth = {
        type: 'kubernetes',
        role: spec.auth.role,
        mountPath: spec.auth.mountPath,
        jwt: async () => {
          try {
            return (await readFile(tokenPath, 'utf8')).trim();
          } catch {
            throw new ConfigError(
              `vault source "${spec.name}": cannot read the service account token at ${tokenPath}`,
            );
          }
        },
      };
      break;
    }
    case 'approle':
      auth = {
        type: 'approle',
        roleId: spec.auth.roleId,
        secretId: fromEnv(spec.auth.secretIdEnv),
        mountPath: spec.auth.mountPath,
      };
      break;
  }
  return new VaultClient({
    address: spec.address,
    auth,
    ...(spec.namespace === undefined ? {} : { namespace: spec.namespace }),
    ...(spec.caData === undefined ? {} : { caData: spec.caData }),
  });
}

export function vaultSourceFactory(
  spec: SourceSpecOf<'vault'>,
  _ctx: { baseDir: string; logger: Logger },
): VaultSource {
  return createVaultSource({ name: spec.name, client: createVaultClient(spec), mount: spec.mount });
}
