import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface KubeconfigEntry {
  name: string;
  server: string;
  caData: string;
  token: string;
}

/** A kubeconfig with one context per cluster (named like the cluster); the first is current. */
export function toKubeconfig(clusters: KubeconfigEntry[], currentContext = clusters[0]?.name ?? ''): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    'current-context': currentContext,
    clusters: clusters.map((c) => ({
      name: c.name,
      cluster: { server: c.server, 'certificate-authority-data': c.caData },
    })),
    users: clusters.map((c) => ({ name: `${c.name}-admin`, user: { token: c.token } })),
    contexts: clusters.map((c) => ({
      name: c.name,
      context: { cluster: c.name, user: `${c.name}-admin`, namespace: 'default' },
    })),
  });
}

/** Writes a kubeconfig to a fresh private temp directory and returns its path. */
export function writeKubeconfig(clusters: KubeconfigEntry[], currentContext?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'local-kube-'));
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, toKubeconfig(clusters, currentContext), { mode: 0o600 });
  return path;
}
