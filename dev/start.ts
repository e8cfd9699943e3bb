/**
 * `npm start`: the whole product on one machine, no cloud account.
 *
 * 1. starts four local Kubernetes API servers (HTTPS, own CA) and seeds dependent workloads;
 * 2. copies the demo store and registry (dev/demo) to a temp folder and syncs once;
 * 3. writes a new version of `prod/database` into the store file, as a rotation would;
 * 4. the file watcher turns that into a local event -> normalizeEvent('local') -> runtime.handle;
 * 5. reads every cluster back to check the new version arrived and the dependents rolled out,
 *    checks that no secret value reached the logs, prints a summary and exits (0 when converged).
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import type { SecretChange } from '../shared/core/change.js';
import { Annotation, RestartAnnotation } from '../shared/engine/annotations.js';
import type { ChangeReport } from '../shared/engine/types.js';
import { normalizeEvent } from '../shared/events/index.js';
import type { LocalEvent } from '../shared/events/local.js';
import { parseRegistry } from '../shared/registry/index.js';
import { generatePassword } from '../shared/core/password.js';
import { createRuntime, type Runtime } from '../shared/runtime/index.js';
import { localSourceFactory, watchLocalSource } from '../shared/sources/local/index.js';
import { createJsonLogger } from '../shared/telemetry/index.js';
import { targetsTable, totalsLine, totalsOf, hasFailures } from '../shared/cli/report.js';
import { formatMs, renderTable } from '../shared/cli/table.js';
import {
  CLUSTER_TOKENS_SOURCE,
  registryClusters,
  startLocalFleet,
  tokenSecrets,
  type KubeObject,
  type LocalFleet,
  type WorkloadKindName,
} from '../test/support/clusters.js';

const DEADLINE_MS = 50_000;
const CLUSTERS: { name: string; labels: Record<string, string> }[] = [
  { name: 'staging-eu-1', labels: { env: 'staging', region: 'eu-west-1' } },
  { name: 'prod-eu-1', labels: { env: 'prod', region: 'eu-west-1' } },
  { name: 'prod-us-1', labels: { env: 'prod', region: 'us-east-1' } },
  { name: 'prod-ap-1', labels: { env: 'prod', region: 'ap-southeast-1' } },
];
const SECRET_KEY = 'prod/database';
const RESTARTED_AT = RestartAnnotation.RestartedAt;
const RESTARTED_FOR_HASH = RestartAnnotation.RestartedForHash;
const demoDir = join(dirname(fileURLToPath(import.meta.url)), 'demo');

interface Dependent {
  cluster: string;
  kind: WorkloadKindName;
  namespace: string;
  name: string;
}

const say = (text = '') => void process.stdout.write(`${text}\n`);
const step = (n: number, text: string) => say(`\n[${n}/5] ${text}`);

/** Workloads that use the demo Secrets, the way real ones do. */
function seedWorkloads(fleet: LocalFleet): Dependent[] {
  const dependents: Dependent[] = [];
  for (const { name: cluster, labels } of CLUSTERS) {
    fleet.state.seedNamespace(cluster, 'payments');
    fleet.state.seedNamespace(cluster, 'observability');
    fleet.state.seedWorkload(cluster, 'Deployment', 'payments', 'payments-api', {
      podSpec: {
        containers: [
          {
            name: 'api',
            image: 'registry.local/payments-api:1.4',
            envFrom: [{ secretRef: { name: 'db-credentials' } }],
          },
        ],
      },
    });
    fleet.state.seedWorkload(cluster, 'StatefulSet', 'payments', 'ledger', {
      podSpec: {
        containers: [
          {
            name: 'ledger',
            image: 'registry.local/ledger:2.0',
            volumeMounts: [{ name: 'db', mountPath: '/etc/db' }],
          },
        ],
        volumes: [{ name: 'db', secret: { secretName: 'db-credentials' } }],
      },
    });
    // Does not use the Secret: must not restart.
    fleet.state.seedWorkload(cluster, 'Deployment', 'payments', 'frontend', {});
    dependents.push(
      { cluster, kind: 'Deployment', namespace: 'payments', name: 'payments-api' },
      { cluster, kind: 'StatefulSet', namespace: 'payments', name: 'ledger' },
    );
    if (labels['env'] === 'prod') {
      fleet.state.seedWorkload(cluster, 'DaemonSet', 'observability', 'log-shipper', {
        labels: { app: 'log-shipper' },
      });
    }
  }
  return dependents;
}

function templateAnnotations(workload: KubeObject | undefined): Record<string, string> {
  const spec = workload?.['spec'] as
    { template?: { metadata?: { annotations?: Record<string, string> } } } | undefined;
  return spec?.template?.metadata?.annotations ?? {};
}

function rolledOut(workload: KubeObject | undefined): boolean {
  const generation = (workload?.metadata['generation'] as number | undefined) ?? 1;
  const status = workload?.['status'] as { observedGeneration?: number } | undefined;
  return (status?.observedGeneration ?? 0) >= generation;
}

async function waitFor<T>(what: string, until: number, probe: () => T | undefined): Promise<T> {
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function main(): Promise<number> {
  const started = Date.now();
  const deadline = started + DEADLINE_MS;
  say('secret-propagator demo: one local secret store, four local Kubernetes clusters, no cloud account.');

  step(1, 'Starting local clusters (HTTPS API servers on 127.0.0.1, own CA)');
  const fleet = await startLocalFleet({ names: CLUSTERS.map((c) => c.name), rolloutDelayMs: 150 });
  const work = await mkdtemp(join(tmpdir(), 'secret-propagator-demo-'));
  let watcher: { close(): Promise<void> } | undefined;
  let stopRuntime: Runtime | undefined;
  try {
    say(
      renderTable(
        ['CLUSTER', 'LABELS', 'SERVER'],
        fleet.clusters.map((c, i) => [
          c.name,
          Object.entries(CLUSTERS[i]?.labels ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(','),
          c.server,
        ]),
      ),
    );
    const dependents = seedWorkloads(fleet);
    say(
      `seeded ${dependents.length} workloads that use db-credentials (Deployment payments-api, StatefulSet ledger), a log-shipper DaemonSet in prod, and an unrelated frontend`,
    );

    // The registry and store live in a temp folder, like a real checkout would.
    const storePath = join(work, 'store.yaml');
    await copyFile(join(demoDir, 'store.yaml'), storePath);
    await writeFile(join(work, 'cluster-tokens.json'), JSON.stringify(tokenSecrets(fleet), null, 2), {
      mode: 0o600,
    });
    const registryDoc = parse(await readFile(join(demoDir, 'registry.yaml'), 'utf8')) as Record<
      string,
      unknown
    >;
    registryDoc['clusters'] = registryClusters(fleet, { labels: (_name, i) => CLUSTERS[i]?.labels ?? {} });
    registryDoc['sources'] = [
      ...(registryDoc['sources'] as unknown[]),
      { name: CLUSTER_TOKENS_SOURCE, provider: 'local', path: 'cluster-tokens.json' },
    ];
    const registryPath = join(work, 'registry.yaml');
    await writeFile(registryPath, stringify(registryDoc));
    const loaded = parseRegistry(await readFile(registryPath, 'utf8'), registryPath, work);

    const logPath = join(work, 'propagator.log');
    const logLines: string[] = [];
    const logger = createJsonLogger({ level: 'info', write: (line) => logLines.push(line) });
    const runtime = createRuntime({ loaded, sources: { local: localSourceFactory }, logger });
    stopRuntime = runtime;

    step(2, `Initial sync of ${loaded.registry.bindings.length} bindings (registry ${registryPath})`);
    const initial = await runtime.scheduled('reconcile');
    say(targetsTable(initial));
    const initialTotals = totalsOf(initial);
    say(
      totalsLine(
        initialTotals,
        initial.reduce((ms, r) => Math.max(ms, r.durationMs), 0),
      ),
    );
    if (hasFailures(initialTotals)) throw new Error('the initial sync did not converge');
    // restartedAt has one-second precision; the hash a restart was for tells restarts apart.
    const restartedForBefore = new Map(
      dependents.map((d) => [
        d,
        templateAnnotations(fleet.state.getWorkload(d.cluster, d.kind, d.namespace, d.name))[
          RESTARTED_FOR_HASH
        ],
      ]),
    );

    step(3, `Changing ${SECRET_KEY}: writing a new version into ${storePath}`);
    const reports: ChangeReport[] = [];
    let resolveChange: (value: { change: SecretChange; event: LocalEvent }) => void = () => {};
    const handled = new Promise<{ change: SecretChange; event: LocalEvent }>(
      (resolve) => (resolveChange = resolve),
    );
    watcher = await watchLocalSource(
      storePath,
      async (_change, event) => {
        // The watcher's event goes through the same path a cloud event does.
        const normalized = normalizeEvent('local', event);
        if ('ignored' in normalized) return;
        for (const change of normalized.changes) {
          say(
            `event  ${event.type} secret=${event.secret} version=${event.version ?? '-'} id=${event.id.slice(0, 8)}`,
          );
          reports.push(...(await runtime.handle(change)));
          if (change.secretRef === SECRET_KEY) resolveChange({ change, event });
        }
      },
      {
        debounceMs: 100,
        source: 'demo-store',
        onError: (error) => say(`watcher: ${error instanceof Error ? error.message : String(error)}`),
      },
    );
    const source = runtime.sources.get('demo-store');
    if (source?.writeVersion === undefined) throw new Error('demo-store cannot write versions');
    const current = JSON.parse(new TextDecoder().decode((await source.read(SECRET_KEY)).bytes)) as Record<
      string,
      string
    >;
    const newPassword = generatePassword(32, false);
    const changedAt = Date.now();
    const { versionId } = await source.writeVersion(
      SECRET_KEY,
      new TextEncoder().encode(JSON.stringify({ ...current, password: newPassword })),
    );
    say(`wrote version ${versionId} (password changed; values are never printed)`);

    step(4, 'Watcher event -> normalizeEvent("local") -> propagate to every target, restart dependents');
    const remaining = deadline - Date.now();
    await Promise.race([
      handled,
      new Promise((_, reject) =>
        setTimeout(
          () => reject(new Error('no change event arrived in time')),
          Math.max(remaining, 1000),
        ).unref(),
      ),
    ]);
    const propagatedMs = Date.now() - changedAt;
    say(targetsTable(reports));

    // Read every cluster back: the Secret holds the new version, the dependents rolled out.
    const rows: (string | number)[][] = [];
    let converged = true;
    const targets = reports.flatMap((r) => r.targets);
    for (const t of targets) {
      const secret = fleet.state.getSecret(t.cluster, t.namespace, t.secret);
      const annotations = (secret?.metadata['annotations'] ?? {}) as Record<string, string>;
      const data = (secret?.['data'] ?? {}) as Record<string, string>;
      const hasNew =
        data['password'] !== undefined && Buffer.from(data['password'], 'base64').toString() === newPassword;
      const ok = annotations[Annotation.Version] === versionId && hasNew;
      converged &&= ok;
      rows.push([
        t.cluster,
        `${t.namespace}/${t.secret}`,
        annotations[Annotation.Version] ?? '-',
        ok ? 'yes' : 'NO',
      ]);
    }
    if (targets.length !== CLUSTERS.length) converged = false;
    say('\nRead back from the clusters:');
    say(renderTable(['CLUSTER', 'SECRET', 'VERSION', 'NEW VALUE'], rows));

    const workloadRows: (string | number)[][] = [];
    for (const d of dependents) {
      const workload = await waitFor(`${d.kind} ${d.name} in ${d.cluster} to roll out`, deadline, () => {
        const w = fleet.state.getWorkload(d.cluster, d.kind, d.namespace, d.name);
        return rolledOut(w) ? w : undefined;
      }).catch(() => fleet.state.getWorkload(d.cluster, d.kind, d.namespace, d.name));
      const annotations = templateAnnotations(workload);
      const restartedAt = annotations[RESTARTED_AT];
      const restarted =
        restartedAt !== undefined && annotations[RESTARTED_FOR_HASH] !== restartedForBefore.get(d);
      const done = restarted && rolledOut(workload);
      converged &&= done;
      workloadRows.push([
        d.cluster,
        `${d.kind}/${d.name}`,
        restarted ? restartedAt : 'NOT RESTARTED',
        done ? 'rolled out' : 'NOT ROLLED OUT',
      ]);
    }
    const frontend = CLUSTERS.map(
      (c) =>
        templateAnnotations(fleet.state.getWorkload(c.name, 'Deployment', 'payments', 'frontend'))[
          RESTARTED_AT
        ],
    );
    const frontendUntouched = frontend.every((a) => a === undefined);
    converged &&= frontendUntouched;
    say(renderTable(['CLUSTER', 'WORKLOAD', 'RESTARTED AT', 'ROLLOUT'], workloadRows));
    say(
      `frontend (does not use the Secret): ${frontendUntouched ? 'not restarted, as expected' : 'RESTARTED (unexpected)'}`,
    );

    await writeFile(logPath, `${logLines.join('\n')}\n`);
    const leaked = logLines.some(
      (line) => line.includes(newPassword) || line.includes(current['password'] ?? '\u0000'),
    );
    converged &&= !leaked;

    step(5, 'Summary');
    const totals = totalsOf(reports);
    say(
      renderTable(
        ['WHAT', 'RESULT'],
        [
          ['change', `${SECRET_KEY} -> version ${versionId}`],
          [
            'targets',
            `${totals.targets} (${totals.counts.updated} updated, ${totals.counts.unchanged} unchanged, ${totals.counts.skipped} skipped, ${totals.counts.failed} failed)`,
          ],
          ['restarts', `${totals.restarts} (${totals.failedRestarts} failed)`],
          ['store write -> every target updated', formatMs(propagatedMs)],
          [
            'secret values in logs',
            leaked
              ? 'FOUND (bug)'
              : `none (${logLines.length} JSON log lines checked; kept in ${logPath} with KEEP_DEMO=1)`,
          ],
          ['total demo time', formatMs(Date.now() - started)],
          ['converged', converged ? 'yes' : 'NO'],
        ],
      ),
    );
    say(
      converged
        ? '\nDone: the change reached every cluster and every dependent restarted.'
        : '\nNot converged: see the tables above.',
    );
    return converged && !hasFailures(totals) ? 0 : 1;
  } finally {
    await watcher?.close();
    // Its kept-alive connections would otherwise hold the process for half a minute.
    stopRuntime?.close?.();
    await fleet.stop();
    if (process.env['KEEP_DEMO'] !== '1') await rm(work, { recursive: true, force: true });
    else say(`kept ${work} (KEEP_DEMO=1)`);
  }
}

const hardStop = setTimeout(() => {
  process.stderr.write('npm start: did not finish within 60 s\n');
  process.exit(1);
}, 60_000);
hardStop.unref();

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`npm start failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
