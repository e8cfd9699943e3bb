import { ConfigError } from '../../core/errors.js';
import { cachingAuthenticator } from '../credentials.js';
import type { ClusterAuthenticator, ClusterCredentials } from '../../core/ports.js';
import type { ClusterAuth } from '../../registry/schema.js';

export type TokenAuth = Extract<ClusterAuth, { type: 'token' }>;

/** Reads one value (a token, a kubeconfig) from a registry source. */
export type ReadValue = (ref: { source: string; key: string; property?: string }) => Promise<string>;

/** The registry's selector (whose optional `property` may be explicitly undefined) as a ReadValue argument. */
export function toValueRef(ref: { source: string; key: string; property?: string | undefined }): {
  source: string;
  key: string;
  property?: string;
} {
  return {
    source: ref.source,
    key: ref.key,
    ...(ref.property === undefined ? {} : { property: ref.property }),
  };
}

/** `auth: { type: token, tokenFrom: { source, key, property? } }`: a bearer token kept in a secret store. */
export function createTokenAuthenticator(options: { readValue: ReadValue }): ClusterAuthenticator<TokenAuth> {
  // Read once per cluster and kept until a 401 invalidates it: a rotated token is then read
  // again from the store.
  return cachingAuthenticator<TokenAuth>('token', async (cluster): Promise<ClusterCredentials> => {
    const token = (await options.readValue(toValueRef(cluster.auth.tokenFrom))).trim();
    if (token === '' || /\s/.test(token)) {
      // Never echo the value: name where it came from.
      throw new ConfigError(
        `cluster "${cluster.name}": the token in source "${cluster.auth.tokenFrom.source}" key "${cluster.auth.tokenFrom.key}" is empty or contains whitespace; store the bare bearer token`,
      );
    }
    return { token };
  });
}
