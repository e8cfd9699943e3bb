import { ConfigError } from '../core/errors.js';
import type { SecretSource } from '../core/ports.js';
import type { ReadValue } from '../kube/index.js';

const decoder = new TextDecoder();

/**
 * How the token and kubeconfig authenticators read a cluster credential kept in one of the
 * registry's sources: the value's text, or with `property` one string property of its JSON.
 * Errors name the source, key and property, never the value.
 */
export function credentialReader(sources: ReadonlyMap<string, SecretSource>): ReadValue {
  return async (ref) => {
    const source = sources.get(ref.source);
    if (source === undefined)
      throw new ConfigError(`credential source "${ref.source}" is not defined under sources`);
    const text = decoder.decode((await source.read(ref.key)).bytes);
    if (ref.property === undefined) return text;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ConfigError(
        `credential "${ref.key}" in source "${ref.source}" is not JSON, so property "${ref.property}" cannot be read`,
      );
    }
    const value =
      parsed !== null && typeof parsed === 'object'
        ? (parsed as Record<string, unknown>)[ref.property]
        : undefined;
    if (typeof value !== 'string')
      throw new ConfigError(
        `credential "${ref.key}" in source "${ref.source}" has no string property "${ref.property}"`,
      );
    return value;
  };
}
