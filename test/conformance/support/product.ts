/**
 * The product (shared/runtime with the engine and shared/kube) pointed at the real API
 * server as one token user, with values from an in-memory source; plus what the server
 * recorded about that user (its audit log) and the Role `secret-propagator rbac` prints.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import type { SecretChange } from '../../../shared/core/change.js';
import { parseRegistry } from '../../../shared/registry/load.js';
import type { RegistryInput } from '../../../shared/registry/schema.js';
import { createRuntime, type Runtime } from '../../../shared/runtime/index.js';
import { localSourceFactory } from '../../../shared/sources/local/index.js';
import { createJsonLogger, createMemoryMetrics } from '../../../shared/telemetry/index.js';
import { runCli } from '../../cli/run-cli.js';
import { createMemorySource, type MemorySource } from '../../support/memory-source.js';
import type { ControlPlaneEndpoint } from './control-plane.js';
import { userToken, type KubeClient } from './servers.js';

/** Pass as `user` to {@link startProduct} to run the product as the server's admin (system:masters). */
export const ADMIN = 'conformance-admin';

export type BindingInput = NonNullable<RegistryInput['bindings']>[number];

/** The registry of one cluster ("real") reached as `user`, with bindings reading the source "mem". */
export function productRegistry(plane: ControlPlaneEndpoint, bindings: BindingInput[]): RegistryInput {
  return {
    apiVersion: 'secret-propagator/v1',
    settings: { targetTimeout: '10s' },
    clusters: [
      {
        name: 'real',
        labels: { env: 'conformance' },
        server: plane.server,
        caData: plane.caData,
        auth: { type: 'token', tokenFrom: { source: 'cluster-tokens', key: 'real' } },
      },
    ],
    sources: [
      { name: 'cluster-tokens', provider: 'local', path: 'tokens.json' },
      { name: 'mem', provider: 'local', path: 'unused.json' },
    ],
    bindings,
  };
}

export interface Product {
  runtime: Runtime;
  store: MemorySource;
  /** Every JSON log line the product wrote. */
  logs: string[];
  change(secretRef: string, tweak?: Partial<SecretChange>): SecretChange;
  close(): void;
}

/** The runtime for `registry`, authenticating as `user` (its token in the local source file), or {@link ADMIN}. */
export function startProduct(
  plane: ControlPlaneEndpoint,
  dir: string,
  registry: RegistryInput,
  user: string,
): Product {
  const token = user === ADMIN ? plane.adminToken : userToken(plane, user);
  writeFileSync(join(dir, 'tokens.json'), JSON.stringify({ real: token }));
  const loaded = parseRegistry(JSON.stringify(registry), 'conformance', dir);
  const store = createMemorySource({ name: 'mem' });
  const logs: string[] = [];
  const runtime = createRuntime({
    loaded,
    sources: { local: (spec, ctx) => (spec.name === 'mem' ? store : localSourceFactory(spec, ctx)) },
    logger: createJsonLogger({ write: (line) => logs.push(line), level: 'debug' }),
    metrics: createMemoryMetrics(),
    backoff: { baseMs: 5, maxMs: 20 },
  });
  let events = 0;
  return {
    runtime,
    store,
    logs,
    change: (secretRef, tweak = {}) => ({
      provider: 'local',
      secretRef,
      kind: 'version-current',
      eventId: `conformance-${++events}`,
      time: new Date().toISOString(),
      ...tweak,
    }),
    close: () => runtime.close?.(),
  };
}

/** The documents `secret-propagator rbac` prints for the registry file, run as the real CLI. */
export async function printedRbac(
  registryFile: string,
  subject: string,
  roleName: string,
): Promise<Record<string, unknown>[]> {
  const run = await runCli([
    'rbac',
    '--registry',
    registryFile,
    '--subject-kind',
    'User',
    '--subject-name',
    subject,
    '--role-name',
    roleName,
  ]);
  if (run.code !== 0) throw new Error(`secret-propagator rbac exited ${run.code}: ${run.stderr}`);
  return parseAllDocuments(run.stdout).map((doc) => doc.toJS() as Record<string, unknown>);
}

/** `kubectl apply` of `documents` as the server's admin, the way an operator installs the Role. */
export async function kubectlApply(
  plane: ControlPlaneEndpoint,
  dir: string,
  documents: Record<string, unknown>[],
): Promise<string> {
  const manifest = join(dir, `apply-${Date.now()}.json`);
  const ca = join(dir, 'ca.pem');
  writeFileSync(manifest, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: documents }));
  writeFileSync(ca, Buffer.from(plane.caData, 'base64'));
  const { stdout } = await promisify(execFile)('kubectl', [
    `--server=${plane.server}`,
    `--token=${plane.adminToken}`,
    `--certificate-authority=${ca}`,
    'apply',
    '-f',
    manifest,
  ]);
  return stdout;
}

/** One request of the audit log. */
export interface AuditEvent {
  user: string;
  verb: string;
  requestURI: string;
  code: number;
}

/** The audit log's completed requests so far, oldest first. */
export function auditEvents(plane: ControlPlaneEndpoint): AuditEvent[] {
  let text = '';
  try {
    text = readFileSync(plane.auditLog, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((e) => e['stage'] === 'ResponseComplete')
    .map((e) => ({
      user: String((e['user'] as { username?: string } | undefined)?.username),
      verb: String(e['verb']),
      requestURI: String(e['requestURI']),
      code: Number((e['responseStatus'] as { code?: number } | undefined)?.code),
    }));
}

/**
 * Waits until the audit log holds everything the server answered so far: a marker request
 * (an admin GET of a name nobody uses) is written after the requests before it completed.
 */
export async function auditSettled(plane: ControlPlaneEndpoint, admin: KubeClient): Promise<void> {
  const marker = `audit-marker-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  await admin.send('GET', `/api/v1/namespaces/default/configmaps/${marker}`);
  for (let i = 0; i < 100; i++) {
    if (auditEvents(plane).some((e) => e.requestURI.includes(marker))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the audit log did not record the marker request within 5 s');
}

/** `verb URI` of every 403 `user` received after the first `since` audit events. */
export function forbidden(plane: ControlPlaneEndpoint, user: string, since: number): string[] {
  return auditEvents(plane)
    .slice(since)
    .filter((e) => e.user === user && e.code === 403)
    .map((e) => `${e.verb} ${e.requestURI}`);
}
