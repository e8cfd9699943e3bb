import { crc32c } from '@aws-crypto/crc32c';
// The v1 client module itself, not the package index: the index also loads v1beta2 and the
// static protos module (about 770 KB of generated code) that the client never uses.
import { SecretManagerServiceClient } from '@google-cloud/secret-manager/build/src/v1/secret_manager_service_client.js';
import { Provider } from '../../core/change.js';
import { ConfigError, SecretNotFoundError, StoreError } from '../../core/errors.js';
import type { Logger, SecretSource, SecretValue } from '../../core/ports.js';
import type { SourceSpecOf } from '../../registry/schema.js';
import { DisabledVersionError, toSourceError } from './errors.js';
import { sameSecret, toSecretName, versionIdOf } from './names.js';

export { parseSecretName, sameSecret, toSecretName, versionIdOf } from './names.js';
export { DisabledVersionError, toSourceError } from './errors.js';

/** The part of the Secret Manager client the adapter uses (the real client satisfies it). */
export type SecretManagerClient = Pick<
  SecretManagerServiceClient,
  'accessSecretVersion' | 'getSecretVersion' | 'listSecretVersions' | 'addSecretVersion'
>;

export interface GcpSourceOptions {
  /** The registry name of this source. */
  name: string;
  client: SecretManagerClient;
  /** Project id that bare secret ids in `remoteRef.key` resolve against. */
  project: string;
  /** The same project's number: Pub/Sub notifications name secrets by number. */
  projectNumber?: string | undefined;
}

const ENABLED = 'ENABLED';

/** The client decodes states to names; the number (1) is accepted too, in case of raw enums. */
function isEnabled(state: unknown): boolean {
  return state === ENABLED || state === 1;
}

/**
 * Google Secret Manager as a `SecretSource`.
 *
 * The current version is the newest ENABLED one: `latest` names the newest version
 * whatever its state, so when that one is disabled or destroyed the adapter lists the
 * enabled versions and reads the highest. Every payload's CRC32C is checked when the
 * service sends one. Values only ever live in the returned `bytes`.
 *
 * `createdAt` is left unset on purpose: when the newest version is disabled or destroyed,
 * the newest *enabled* one is older, and targets must go back to it (the engine's
 * never-older guard compares creation times only when the source gives them).
 */
export function createGcpSource(options: GcpSourceOptions): SecretSource {
  const { name, client, project, projectNumber } = options;

  function secretNameOf(key: string): string {
    const secret = toSecretName(key, project);
    if (secret === undefined) {
      throw new ConfigError(
        `source "${name}": remoteRef.key "${key}" is neither a secret id nor projects/<project>/secrets/<secret>`,
      );
    }
    return secret;
  }

  async function access(versionName: string): Promise<SecretValue> {
    let response;
    try {
      [response] = await client.accessSecretVersion({ name: versionName });
    } catch (error) {
      throw toSourceError(error, `version ${versionName}`);
    }
    const versionId = versionIdOf(response.name);
    const data = response.payload?.data;
    if (versionId === undefined || data === null || data === undefined) {
      throw new StoreError(`Secret Manager answered ${versionName} without a version name or payload`, {
        retryable: true,
      });
    }
    const bytes = typeof data === 'string' ? Buffer.from(data, 'base64') : Uint8Array.from(data);
    const expected = response.payload?.dataCrc32c;
    if (expected !== null && expected !== undefined && String(expected) !== String(crc32c(bytes))) {
      // Corruption in transit or at rest; reading again may succeed.
      throw new StoreError(`payload of ${versionName} failed its CRC32C check`, { retryable: true });
    }
    return { versionId, bytes };
  }

  /** The newest ENABLED version id, by listing (used when `latest` is not enabled). */
  async function latestEnabled(secret: string): Promise<string> {
    let versions;
    try {
      [versions] = await client.listSecretVersions(
        { parent: secret, filter: `state:${ENABLED}` },
        { autoPaginate: true },
      );
    } catch (error) {
      throw toSourceError(error, `secret ${secret}`);
    }
    const enabled = versions
      .filter((v) => isEnabled(v.state))
      .map((v) => versionIdOf(v.name))
      .filter((v): v is string => v !== undefined && /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    const newest = enabled[0];
    if (newest === undefined) throw new SecretNotFoundError(`secret ${secret} has no enabled version`);
    return newest;
  }

  return {
    provider: Provider.Gcp,
    name,

    async read(key, readOptions = {}) {
      const secret = secretNameOf(key);
      const pinned = readOptions.version;
      if (pinned !== undefined && pinned !== 'latest') return access(`${secret}/versions/${pinned}`);
      try {
        return await access(`${secret}/versions/latest`);
      } catch (error) {
        if (!(error instanceof DisabledVersionError)) throw error;
      }
      return access(`${secret}/versions/${await latestEnabled(secret)}`);
    },

    refersTo(key, changeRef) {
      return sameSecret(key, changeRef, { project, projectNumber });
    },

    async currentVersion(key) {
      const secret = secretNameOf(key);
      let latest;
      try {
        [latest] = await client.getSecretVersion({ name: `${secret}/versions/latest` });
      } catch (error) {
        throw toSourceError(error, `secret ${secret}`);
      }
      const id = versionIdOf(latest.name);
      if (id !== undefined && isEnabled(latest.state)) return id;
      return latestEnabled(secret);
    },

    async writeVersion(key, bytes) {
      const secret = secretNameOf(key);
      let added;
      try {
        [added] = await client.addSecretVersion({
          parent: secret,
          payload: { data: Buffer.from(bytes), dataCrc32c: crc32c(bytes) },
        });
      } catch (error) {
        throw toSourceError(error, `secret ${secret}`);
      }
      const versionId = versionIdOf(added.name);
      if (versionId === undefined)
        throw new StoreError(`Secret Manager added a version to ${secret} without naming it`);
      return { versionId };
    },
  };
}

type ClientOptions = NonNullable<ConstructorParameters<typeof SecretManagerServiceClient>[0]>;

/** Options for building Secret Manager clients from registry sources. */
export interface GcpSourceFactoryOptions {
  /**
   * Extra client options, e.g. `authClient`. @default Application Default Credentials
   * (the function's service account on Cloud Functions).
   */
  clientOptions?: ClientOptions;
}

/**
 * Builds the client for one registry source, always on the REST transport (gax "fallback":
 * JSON over HTTPS). It is the transport the tests drive against the local Secret Manager
 * server, the adapter makes only unary calls, and it lets the function bundle leave gRPC
 * out (functions/gcp/bundle.ts), which took most of a cold start. An `endpoint` (tests,
 * private endpoints) points the client at that host, port and scheme.
 */
export function createSecretManagerClient(
  spec: SourceSpecOf<'gcp'>,
  options: GcpSourceFactoryOptions = {},
): SecretManagerServiceClient {
  const base: ClientOptions = { ...options.clientOptions, fallback: true };
  if (spec.endpoint === undefined) return new SecretManagerServiceClient(base);
  const url = new URL(spec.endpoint);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return new SecretManagerServiceClient({
    ...base,
    apiEndpoint: url.hostname,
    port: url.port === '' ? (protocol === 'http' ? 80 : 443) : Number(url.port),
    protocol,
  });
}

/** A `SourceFactories['gcp']` entry with the given client options. */
export function createGcpSourceFactory(options: GcpSourceFactoryOptions = {}) {
  return (spec: SourceSpecOf<'gcp'>, _ctx: { baseDir: string; logger: Logger }): SecretSource =>
    createGcpSource({
      name: spec.name,
      client: createSecretManagerClient(spec, options),
      project: spec.project,
      projectNumber: spec.projectNumber,
    });
}

/** The `gcp` entry of `SourceFactories`: Application Default Credentials. */
export const gcpSourceFactory = createGcpSourceFactory();
