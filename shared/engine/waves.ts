import type { ClusterSelector, ClusterSpec } from '../registry/schema.js';
import { matchesLabels } from '../registry/select.js';

function matches(cluster: ClusterSpec, selector: ClusterSelector): boolean {
  return 'names' in selector
    ? selector.names.includes(cluster.name)
    : matchesLabels(cluster.labels, selector.matchLabels);
}

/**
 * Splits a binding's clusters into rollout waves: each cluster joins the first wave that
 * selects it; clusters no wave selects form a last wave. Empty waves are dropped; order
 * within a wave follows the input. Without waves, all clusters are one wave.
 */
export function toWaves(
  clusters: readonly ClusterSpec[],
  waves: readonly ClusterSelector[] | undefined,
): ClusterSpec[][] {
  if (waves === undefined || waves.length === 0) return clusters.length === 0 ? [] : [[...clusters]];
  const buckets: ClusterSpec[][] = waves.map(() => []);
  const rest: ClusterSpec[] = [];
  for (const cluster of clusters) {
    const index = waves.findIndex((wave) => matches(cluster, wave));
    (index === -1 ? rest : (buckets[index] ?? rest)).push(cluster);
  }
  buckets.push(rest);
  return buckets.filter((wave) => wave.length > 0);
}
