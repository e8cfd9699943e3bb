import type { SecretChange } from '../core/change.js';
import { ConfigError } from '../core/errors.js';
import type { SecretSource } from '../core/ports.js';
import type { BindingSpec, ClusterSpec, Registry } from '../registry/schema.js';
import { selectClusters } from '../registry/select.js';
import { requiredReads, type ReadRequest } from '../template/index.js';
import { toWaves } from './waves.js';

/** One binding with what every run of it needs, worked out once per propagator. */
export interface BindingInfo {
  readonly spec: BindingSpec;
  readonly source: SecretSource;
  /** The store reads its template needs. */
  readonly reads: readonly ReadRequest[];
  /** The clusters it targets, in registry order. */
  readonly clusters: ClusterSpec[];
  readonly clusterByName: ReadonlyMap<string, ClusterSpec>;
  /** `clusters` in rollout waves (one wave without `rollout.waves`). */
  readonly waves: ClusterSpec[][];
}

/** The registry's bindings, indexed for the questions the entry points ask. */
export interface BindingIndex {
  /** The binding of that name, if the registry has it. */
  get(name: string): BindingInfo | undefined;
  /** The binding of that name; an unknown name is a ConfigError listing the known ones. */
  require(name: string): BindingInfo;
  /** The named bindings (every binding when `names` is undefined). */
  select(names: readonly string[] | undefined): BindingInfo[];
  /** The bindings that read the secret `change` names. */
  touchedBy(change: SecretChange): BindingInfo[];
}

/** The key a binding's report names: its first read, else its `remoteRef`. */
export function primaryRef(info: BindingInfo): string {
  return info.reads[0]?.key ?? info.spec.remoteRef?.key ?? '';
}

/** Indexes the registry's bindings; a binding whose source has no adapter is a ConfigError. */
export function indexBindings(registry: Registry, sources: ReadonlyMap<string, SecretSource>): BindingIndex {
  const byName = new Map<string, BindingInfo>();
  const byProvider = new Map<string, BindingInfo[]>();
  for (const spec of registry.bindings) {
    const source = sources.get(spec.source);
    if (source === undefined) {
      throw new ConfigError(
        `binding "${spec.name}" uses source "${spec.source}", which has no adapter in this runtime`,
      );
    }
    const clusters = selectClusters(registry.clusters, spec.target.clusters);
    const info: BindingInfo = {
      spec,
      source,
      reads: requiredReads(spec),
      clusters,
      clusterByName: new Map(clusters.map((c) => [c.name, c])),
      waves: toWaves(clusters, spec.rollout?.waves),
    };
    byName.set(spec.name, info);
    const sameProvider = byProvider.get(source.provider) ?? [];
    sameProvider.push(info);
    byProvider.set(source.provider, sameProvider);
  }

  const require = (name: string): BindingInfo => {
    const info = byName.get(name);
    if (info === undefined) {
      throw new ConfigError(`unknown binding "${name}" (known: ${[...byName.keys()].join(', ') || 'none'})`);
    }
    return info;
  };

  return {
    get: (name) => byName.get(name),
    require,
    select: (names) => (names === undefined ? [...byName.values()] : names.map(require)),
    touchedBy: (change) =>
      (byProvider.get(change.provider) ?? []).filter((info) =>
        info.reads.some((r) => info.source.refersTo(r.key, change.secretRef)),
      ),
  };
}
