import type { WorkloadKind } from '../core/ports.js';

/** How to reach each workload kind: one row per kind, no per-kind code (docs/architecture.md, "Cluster access"). */
export interface WorkloadResource {
  kind: WorkloadKind;
  apiVersion: string;
  /** URL prefix of the group version. */
  basePath: string;
  plural: string;
  /** Where the pod template lives in the object. */
  templatePath: readonly string[];
}

export const WORKLOAD_RESOURCES: Readonly<Record<WorkloadKind, WorkloadResource>> = {
  Deployment: {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    basePath: '/apis/apps/v1',
    plural: 'deployments',
    templatePath: ['spec', 'template'],
  },
  StatefulSet: {
    kind: 'StatefulSet',
    apiVersion: 'apps/v1',
    basePath: '/apis/apps/v1',
    plural: 'statefulsets',
    templatePath: ['spec', 'template'],
  },
  DaemonSet: {
    kind: 'DaemonSet',
    apiVersion: 'apps/v1',
    basePath: '/apis/apps/v1',
    plural: 'daemonsets',
    templatePath: ['spec', 'template'],
  },
};

/** `{ spec: { template: value } }` for templatePath `['spec', 'template']`. */
export function atPath(path: readonly string[], value: unknown): unknown {
  return path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value);
}

/** The value at `path`, or undefined. */
export function readPath(object: unknown, path: readonly string[]): unknown {
  let node = object;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
