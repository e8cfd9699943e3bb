import type { ClusterSpec } from '../registry/schema.js';
import { CliExit, ExitCode } from './context.js';

/** One requirement of a label selector. */
type Requirement =
  { op: 'equals' | 'not-equals'; key: string; value: string } | { op: 'exists' | 'not-exists'; key: string };

const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function parseRequirement(part: string, whole: string): Requirement {
  const match = /^([^=!]*?)\s*(==|!=|=)\s*(.*)$/.exec(part);
  const fail = (why: string) =>
    new CliExit(
      ExitCode.InvalidInput,
      `--selector "${whole}": "${part}" ${why} (expected key=value, key!=value, key or !key)`,
    );
  if (match === null) {
    const negated = part.startsWith('!');
    const key = (negated ? part.slice(1) : part).trim();
    if (!KEY.test(key)) throw fail('is not a label key');
    return { op: negated ? 'not-exists' : 'exists', key };
  }
  const key = (match[1] ?? '').trim();
  if (!KEY.test(key)) throw fail('has no valid label key');
  return { op: match[2] === '!=' ? 'not-equals' : 'equals', key, value: (match[3] ?? '').trim() };
}

/**
 * Parses a Kubernetes-style equality selector over the registry's cluster labels
 * (`env=prod,region!=eu-west-1,canary,!legacy`) into a predicate on clusters.
 * A malformed part stops the CLI with exit 2, naming the part.
 */
export function parseClusterSelector(text: string): (cluster: ClusterSpec) => boolean {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length === 0)
    throw new CliExit(ExitCode.InvalidInput, `--selector "${text}" selects nothing: it is empty`);
  const requirements = parts.map((part) => parseRequirement(part, text));
  return (cluster) =>
    requirements.every((r) => {
      const value = cluster.labels[r.key];
      switch (r.op) {
        case 'equals':
          return value === r.value;
        case 'not-equals':
          return value !== r.value;
        case 'exists':
          return value !== undefined;
        case 'not-exists':
          return value === undefined;
      }
    });
}

/**
 * The clusters a command looks at: `--cluster` names (each must be in the registry) and
 * `--selector` labels, both when both are given. Undefined when neither is.
 */
export function clusterFilter(
  clusters: readonly ClusterSpec[],
  names: readonly string[] | undefined,
  selector: string | undefined,
): ((cluster: ClusterSpec) => boolean) | undefined {
  if ((names === undefined || names.length === 0) && selector === undefined) return undefined;
  const known = new Set(clusters.map((c) => c.name));
  for (const name of names ?? []) {
    if (!known.has(name))
      throw new CliExit(
        ExitCode.InvalidInput,
        `unknown cluster "${name}" (see clusters[].name in the registry)`,
      );
  }
  const wanted = names === undefined || names.length === 0 ? undefined : new Set(names);
  const matches = selector === undefined ? undefined : parseClusterSelector(selector);
  return (cluster) =>
    (wanted === undefined || wanted.has(cluster.name)) && (matches === undefined || matches(cluster));
}
