import type { BindingSpec, Registry } from './schema.js';

/**
 * Why a Secrets Manager key would widen IAM past the one secret it names, or undefined when
 * it names one secret. `*` and `?` are IAM wildcards in a resource ARN, and an ARN whose
 * secret name is empty (or a lone `-`) leaves only the account-wide prefix.
 */
export function wildcardKeyReason(key: string): string | undefined {
  if (key.includes('*') || key.includes('?')) {
    return `"${key}" holds an IAM wildcard (* or ?), so the functions would be granted every secret it matches`;
  }
  const name = /^arn:[^:]*:secretsmanager:[^:]*:[^:]*:secret:(.*)$/.exec(key)?.[1];
  if (name !== undefined && (name === '' || name === '-')) {
    return `"${key}" names no secret (an empty name after "secret:"), so its IAM prefix would cover every secret of the account`;
  }
  return undefined;
}

/** One Secrets Manager key of the registry and where it is written, e.g. `bindings[2].remoteRef.key`. */
export interface KeyAt {
  path: string;
  key: string;
}

/** Every key a binding reads, with the path that names it. */
export function bindingKeysAt(binding: BindingSpec, at: string): KeyAt[] {
  const keys: KeyAt[] = [];
  if (binding.remoteRef !== undefined) keys.push({ path: `${at}.remoteRef.key`, key: binding.remoteRef.key });
  binding.data?.forEach((entry, j) => {
    if (entry.remoteRef?.key !== undefined)
      keys.push({ path: `${at}.data[${j}].remoteRef.key`, key: entry.remoteRef.key });
  });
  binding.dataFrom?.forEach((entry, j) => {
    if (entry.extract.key !== undefined)
      keys.push({ path: `${at}.dataFrom[${j}].extract.key`, key: entry.extract.key });
  });
  return keys;
}

/**
 * Keys of `aws` sources that would widen IAM to more than one secret: refused unless the
 * binding says `allowWildcard: true` (cluster token and kubeconfig keys have no opt-in).
 */
export function wildcardProblems(registry: Registry): string[] {
  const aws = new Set(registry.sources.filter((s) => s.provider === 'aws').map((s) => s.name));
  const problems: string[] = [];
  registry.bindings.forEach((binding, i) => {
    if (!aws.has(binding.source) || binding.allowWildcard === true) return;
    for (const { path, key } of bindingKeysAt(binding, `bindings[${i}]`)) {
      const reason = wildcardKeyReason(key);
      if (reason !== undefined)
        problems.push(
          `${path}: ${reason}; name one secret, or set bindings[${i}].allowWildcard: true to accept that grant`,
        );
    }
  });
  registry.clusters.forEach((cluster, i) => {
    const auth = cluster.auth;
    const ref =
      auth.type === 'token'
        ? { path: 'auth.tokenFrom.key', ref: auth.tokenFrom }
        : auth.type === 'kubeconfig'
          ? { path: 'auth.kubeconfigFrom.key', ref: auth.kubeconfigFrom }
          : undefined;
    if (ref === undefined || !aws.has(ref.ref.source)) return;
    const reason = wildcardKeyReason(ref.ref.key);
    if (reason !== undefined) problems.push(`clusters[${i}].${ref.path}: ${reason}; name one secret`);
  });
  return problems;
}
