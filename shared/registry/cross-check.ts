import { isPropagatorError } from '../core/errors.js';
import { checkTemplates } from '../template/render.js';
import type { BindingSpec, ClusterSpec, Registry } from './schema.js';
import { selectClusters } from './select.js';
import { wildcardProblems } from './wildcard.js';

function duplicates(names: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const n of names) (seen.has(n) ? dups : seen).add(n);
  return dups;
}

/**
 * Checks what a schema cannot: references between sections, unique names, namespace
 * allowlists and two bindings fighting over one target Secret. Returns `path: reason` lines.
 */
export function crossCheck(registry: Registry): string[] {
  const problems: string[] = [];
  const sections = [
    ['clusters', registry.clusters],
    ['sources', registry.sources],
    ['bindings', registry.bindings],
  ] as const;
  for (const [section, items] of sections) {
    const dups = duplicates(items.map((i) => i.name));
    items.forEach((item, i) => {
      if (dups.has(item.name)) problems.push(`${section}[${i}].name: duplicate name "${item.name}"`);
    });
  }

  const sourceNames = new Set(registry.sources.map((s) => s.name));
  const clusterNames = new Set(registry.clusters.map((c) => c.name));

  registry.clusters.forEach((cluster, i) => {
    const from =
      cluster.auth.type === 'token'
        ? { path: 'auth.tokenFrom', ref: cluster.auth.tokenFrom }
        : cluster.auth.type === 'kubeconfig'
          ? { path: 'auth.kubeconfigFrom', ref: cluster.auth.kubeconfigFrom }
          : undefined;
    if (from !== undefined && !sourceNames.has(from.ref.source)) {
      problems.push(
        `clusters[${i}].${from.path}.source: unknown source "${from.ref.source}" (define it under sources)`,
      );
    }
    if (cluster.server === undefined && cluster.auth.type !== 'eks' && cluster.auth.type !== 'kubeconfig') {
      problems.push(`clusters[${i}].server: required for auth type "${cluster.auth.type}"`);
    }
  });

  const owners = new Map<string, string>();
  registry.bindings.forEach((binding, i) => {
    const at = `bindings[${i}]`;
    if (!sourceNames.has(binding.source)) {
      problems.push(
        `${at}.source: unknown source "${binding.source}" (known: ${[...sourceNames].join(', ') || 'none'})`,
      );
    }
    const provider = registry.sources.find((s) => s.name === binding.source)?.provider;
    for (const field of ['dynamic', 'pki'] as const) {
      if (binding[field] !== undefined && provider !== undefined && provider !== 'vault')
        problems.push(`${at}.${field}: needs a vault source; "${binding.source}" is ${provider}`);
    }
    problems.push(...checkDataShape(binding, at));
    const { target } = binding;
    if ('names' in target.clusters) {
      target.clusters.names.forEach((n, j) => {
        if (!clusterNames.has(n)) problems.push(`${at}.target.clusters.names[${j}]: unknown cluster "${n}"`);
      });
    }
    const selected = selectClusters(registry.clusters, target.clusters);
    if (selected.length === 0) {
      problems.push(`${at}.target.clusters: selects no cluster`);
    }
    for (const cluster of selected) {
      const reason = namespaceRefusal(cluster, target.namespace);
      if (reason !== undefined) problems.push(`${at}.target.namespace: ${reason}`);
      const key = `${cluster.name}/${target.namespace}/${target.name}`;
      const owner = owners.get(key);
      if (owner !== undefined && owner !== binding.name) {
        problems.push(
          `${at}.target: Secret ${target.namespace}/${target.name} in cluster "${cluster.name}" is already written by binding "${owner}"`,
        );
      } else owners.set(key, binding.name);
    }
    binding.rollout?.waves.forEach((wave, w) => {
      if ('names' in wave) {
        wave.names.forEach((n, j) => {
          if (!clusterNames.has(n))
            problems.push(`${at}.rollout.waves[${w}].names[${j}]: unknown cluster "${n}"`);
        });
      }
    });
    // Templates are parsed now so `validate` catches an unknown function or a syntax error
    // before any event arrives; rendering still happens per change.
    try {
      checkTemplates(binding);
    } catch (error) {
      if (!isPropagatorError(error)) throw error;
      problems.push(`${at}.target.template: ${error.message}`);
    }
  });
  problems.push(...wildcardProblems(registry));
  return problems;
}

function checkDataShape(binding: BindingSpec, at: string): string[] {
  const problems: string[] = [];
  const hasData = (binding.data?.length ?? 0) > 0;
  const hasDataFrom = (binding.dataFrom?.length ?? 0) > 0;
  const issues = binding.dynamic !== undefined || binding.pki !== undefined;
  if (binding.dynamic !== undefined && binding.pki !== undefined)
    problems.push(`${at}: dynamic and pki exclude each other`);
  // import-eso writes these so a converted registry keeps what the ExternalSecret meant, but the
  // engine does not issue, renew or revoke yet: refuse them rather than accept and do nothing.
  for (const field of ['dynamic', 'pki'] as const)
    if (binding[field] !== undefined)
      problems.push(
        `${at}.${field}: issuing Vault ${field === 'pki' ? 'certificates' : 'dynamic credentials'} is not supported yet; such a binding cannot be propagated`,
      );
  if (issues && (binding.remoteRef !== undefined || hasDataFrom))
    problems.push(`${at}: a dynamic or pki binding issues its data; remoteRef and dataFrom do not apply`);
  if (issues) {
    // Issued bindings select from what was issued with data[].property; nothing is read by key.
    binding.data?.forEach((entry, j) => {
      if (entry.remoteRef?.key !== undefined)
        problems.push(`${at}.data[${j}].remoteRef.key: a dynamic or pki binding reads no stored key`);
    });
    return problems;
  }
  if (!hasData && !hasDataFrom && binding.remoteRef === undefined) {
    problems.push(`${at}: needs remoteRef, data or dataFrom (what to read from the source)`);
  }
  binding.data?.forEach((entry, j) => {
    if (entry.remoteRef?.key === undefined && binding.remoteRef === undefined) {
      problems.push(`${at}.data[${j}].remoteRef.key: required when the binding has no remoteRef`);
    }
  });
  binding.dataFrom?.forEach((entry, j) => {
    if (entry.extract.key === undefined && binding.remoteRef === undefined) {
      problems.push(`${at}.dataFrom[${j}].extract.key: required when the binding has no remoteRef`);
    }
  });
  const keys = duplicates((binding.data ?? []).map((d) => d.secretKey));
  for (const k of keys) problems.push(`${at}.data: secretKey "${k}" is listed twice`);
  return problems;
}

/** Why `namespace` may not be written in `cluster`, or undefined when it may. */
export function namespaceRefusal(cluster: ClusterSpec, namespace: string): string | undefined {
  if (cluster.namespaces !== undefined) {
    return cluster.namespaces.includes(namespace)
      ? undefined
      : `"${namespace}" is not in the namespaces allowlist of cluster "${cluster.name}" (${cluster.namespaces.join(', ')})`;
  }
  if (namespace === 'kube-system') {
    return `kube-system must be listed explicitly in clusters[name=${cluster.name}].namespaces`;
  }
  return undefined;
}
