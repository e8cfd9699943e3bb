/**
 * Jest globalSetup of the conformance suite: builds or finds the servers
 * (scripts/test-servers.sh, which fails loudly without Go or the module proxy), starts one
 * control plane for the whole run, prints its /version and leaves where it is in a file that
 * every test worker reads (see `realServer` in servers.ts).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { CONTROL_PLANE_USERS, STATE_ENV } from './servers.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The `name=path` lines of `scripts/test-servers.sh all`. */
function serverBinaries(): Record<string, string> {
  const out = execFileSync(join(repo, 'scripts', 'test-servers.sh'), ['all'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string]),
  );
}

export default async function globalSetup(): Promise<void> {
  const binaries = serverBinaries();
  const { etcd, 'kube-apiserver': kubeApiserver } = binaries;
  if (!etcd || !kubeApiserver)
    throw new Error(`scripts/test-servers.sh all did not name both servers: ${JSON.stringify(binaries)}`);
  const started = Date.now();
  const plane = await startControlPlane({ etcd, kubeApiserver, userNames: [...CONTROL_PLANE_USERS] });
  const { stop: _stop, ...endpoint } = plane;
  const stateFile = join(tmpdir(), `sp-conformance-${process.pid}.json`);
  writeFileSync(stateFile, JSON.stringify(endpoint), { mode: 0o600 });
  process.env[STATE_ENV] = stateFile;
  (globalThis as { conformanceControlPlane?: ControlPlane }).conformanceControlPlane = plane;
  const v = plane.version;
  // A build from the module proxy carries no release stamp (/version says v0.0.0-master), so
  // the release is the k8s.io/kubernetes version the wrapper module pins, part of the cache path.
  const pinned = /kube-apiserver-(v[0-9][^/]*)\//.exec(kubeApiserver)?.[1] ?? 'unknown version';
  console.log(
    `\nconformance control plane: kube-apiserver ${pinned} (module k8s.io/kubernetes; /version gitVersion ${v['gitVersion']}, ${v['goVersion']}, ${v['platform']}) ` +
      `at ${plane.server}, etcd ${etcd}, ready in ${Date.now() - started} ms`,
  );
  console.log(`/version: ${JSON.stringify(v)}`);
}
