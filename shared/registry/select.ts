import type { ClusterSelector, ClusterSpec } from './schema.js';

/** True when every `matchLabels` entry is present with the same value. */
export function matchesLabels(
  labels: Readonly<Record<string, string>>,
  match: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(match).every(([k, v]) => labels[k] === v);
}

/** The clusters a selector picks, in registry order. */
export function selectClusters(clusters: readonly ClusterSpec[], selector: ClusterSelector): ClusterSpec[] {
  if ('names' in selector) {
    const wanted = new Set(selector.names);
    return clusters.filter((c) => wanted.has(c.name));
  }
  return clusters.filter((c) => matchesLabels(c.labels, selector.matchLabels));
}
