/**
 * The kill-and-redeliver lab: local clusters (dev/kube, in this process), a local store file,
 * a registry file, and queue workers started as child processes (worker.ts) that can be made
 * to die with SIGKILL. Used by the crash tests and by `npm run chaos`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotation, RestartAnnotation } from '../../shared/engine/annotations.js';
import type { ChangeReport, WorkItem } from '../../shared/engine/types.js';
import { loadRegistryFile } from '../../shared/registry/load.js';
import type { RegistryInput } from '../../shared/registry/schema.js';
import { createRuntime } from '../../shared/runtime/index.js';
import { localSourceFactory } from '../../shared/sources/local/index.js';
import { createJsonLogger } from '../../shared/telemetry/index.js';
import {
  CLUSTER_TOKENS_SOURCE,
  registryClusters,
  startLocalFleet,
  tokenSecrets,
  type LocalFleet,
  type WorkloadKindName,
} from '../support/clusters.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** The dependents every trial seeds, in the order a restart visits them. */
export const DEPENDENTS: readonly { kind: WorkloadKindName; name: string }[] = [
  { kind: 'Deployment', name: 'api' }, // named in `restart.workloads`
  { kind: 'StatefulSet', name: 'worker' }, // found by `restart.auto` (envFrom)
  { kind: 'DaemonSet', name: 'web' }, // picked by `restart.selector`
];

/** How a worker process ended. */
export interface WorkerRun {
  /** Killed by SIGKILL (its own crash point, or the parent). */
  killed: boolean;
  /** The reports it printed, when it finished. */
  reports?: ChangeReport[];
  /** Everything it logged (JSON lines), to check for values. */
  stderr: string;
}

/** What one dependent went through: rollouts since it was seeded, and the hash of its last restart. */
export interface DependentState {
  kind: WorkloadKindName;
  name: string;
  restarts: number;
  restartedForHash: string | undefined;
}

/** One target Secret as a trial sees it. */
export interface TargetState {
  hash: string | undefined;
  pending: string | undefined;
  password: string | undefined;
  dependents: DependentState[];
}

export interface Trial {
  ns: string;
  /** The work message a queue would deliver for this trial's change. */
  message: WorkItem;
  /** Makes `value` the store's current version (appended as the next version). */
  putVersion(password: string): void;
  /** Adds the dependents (after the first value is in place: a create restarts nothing). */
  seedDependents(): void;
  /** Applies the trial's message in this process (the first value, quicker than a worker). */
  applyHere(): Promise<ChangeReport[]>;
  /** Runs a worker process on the trial's message; `crashAt` / `crashAfterMs` as in worker.ts. */
  runWorker(options?: { crashAt?: string; crashAfterMs?: number }): Promise<WorkerRun>;
  state(cluster: string): TargetState;
}

export interface CrashLab {
  fleet: LocalFleet;
  clusters: string[];
  trial(): Trial;
  stop(): Promise<void>;
}

function runWorkerProcess(env: Record<string, string>): Promise<WorkerRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL') return resolve({ killed: true, stderr });
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{'))
        return reject(new Error(`worker exited with ${code ?? signal}: ${stderr.slice(-2000)}`));
      resolve({ killed: false, reports: (JSON.parse(line) as { reports: ChangeReport[] }).reports, stderr });
    });
  });
}

/** Starts the clusters; each `trial()` gets its own namespace, store file, registry and binding. */
export async function startCrashLab(options: { clusters: string[]; prefix?: string }): Promise<CrashLab> {
  const fleet = await startLocalFleet({ names: options.clusters, rolloutDelayMs: 5 });
  const root = join(tmpdir(), `sp-crash-${process.pid}-${Date.now()}`);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'tokens.json'), JSON.stringify(tokenSecrets(fleet)));
  let count = 0;
  const generationOf = (o: { metadata: Record<string, unknown> } | undefined) =>
    typeof o?.metadata.generation === 'number' ? o.metadata.generation : 0;

  const trial = (): Trial => {
    count++;
    const ns = `${options.prefix ?? 'crash'}-${count}`;
    const key = `app/db-${count}`;
    const storePath = join(root, `store-${count}.json`);
    const registryPath = join(root, `registry-${count}.json`);
    const versions: { id: string; value: { password: string } }[] = [];
    for (const c of options.clusters) fleet.state.seedNamespace(c, ns);
    const registry: RegistryInput = {
      apiVersion: 'secret-propagator/v1',
      settings: { targetTimeout: '5s', retries: 2, concurrency: 4 },
      clusters: registryClusters(fleet),
      sources: [
        { name: CLUSTER_TOKENS_SOURCE, provider: 'local', path: join(root, 'tokens.json') },
        { name: 'store', provider: 'local', path: storePath },
      ],
      bindings: [
        {
          name: 'db',
          source: 'store',
          remoteRef: { key },
          data: [{ secretKey: 'password', property: 'password' }],
          target: { name: 'db', namespace: ns, clusters: { names: options.clusters } },
          restart: {
            auto: true,
            workloads: [{ kind: 'Deployment', name: 'api' }],
            selector: { matchLabels: { tier: 'web' } },
          },
        },
      ],
    };
    writeFileSync(registryPath, JSON.stringify(registry));
    const message: WorkItem = {
      changeId: `change-${count}`,
      kind: 'version-current',
      binding: 'db',
      clusters: options.clusters,
    };
    return {
      ns,
      message,
      putVersion(password) {
        versions.push({ id: String(versions.length + 1), value: { password } });
        writeFileSync(storePath, JSON.stringify({ [key]: { versions } }));
      },
      seedDependents() {
        for (const c of options.clusters) {
          fleet.state.seedWorkload(c, 'Deployment', ns, 'api');
          fleet.state.seedWorkload(c, 'StatefulSet', ns, 'worker', {
            podSpec: {
              containers: [{ name: 'app', image: 'app:1', envFrom: [{ secretRef: { name: 'db' } }] }],
            },
          });
          fleet.state.seedWorkload(c, 'DaemonSet', ns, 'web', { labels: { tier: 'web' } });
        }
      },
      async applyHere() {
        const runtime = createRuntime({
          loaded: loadRegistryFile(registryPath),
          sources: { local: localSourceFactory },
          logger: createJsonLogger({ write: () => undefined }),
        });
        try {
          return await runtime.propagator.applyWorkItem(message);
        } finally {
          runtime.close?.();
        }
      },
      runWorker: (run = {}) =>
        runWorkerProcess({
          SP_REGISTRY: registryPath,
          SP_WORK_MESSAGE: JSON.stringify(message),
          ...(run.crashAt === undefined ? {} : { SP_CRASH_AT: run.crashAt }),
          ...(run.crashAfterMs === undefined ? {} : { SP_CRASH_AFTER_MS: String(run.crashAfterMs) }),
        }),
      state(cluster) {
        const secret = fleet.state.getSecret(cluster, ns, 'db');
        const annotations = (secret?.metadata.annotations ?? {}) as Record<string, string>;
        const data = (secret?.data ?? {}) as Record<string, string>;
        return {
          hash: annotations[Annotation.ContentHash],
          pending: annotations[Annotation.RestartPending],
          password: data.password === undefined ? undefined : Buffer.from(data.password, 'base64').toString(),
          dependents: DEPENDENTS.map(({ kind, name }) => {
            const workload = fleet.state.getWorkload(cluster, kind, ns, name);
            const template = (
              workload?.spec as { template?: { metadata?: { annotations?: Record<string, string> } } }
            )?.template;
            return {
              kind,
              name,
              restarts: generationOf(workload) - 1,
              restartedForHash: template?.metadata?.annotations?.[RestartAnnotation.RestartedForHash],
            };
          }),
        };
      },
    };
  };

  return {
    fleet,
    clusters: options.clusters,
    trial,
    async stop() {
      await fleet.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
