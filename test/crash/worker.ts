/**
 * A queue worker in a process of its own, for the kill-and-redeliver tests: it composes the
 * runtime (local store, token auth, the shared/kube gateways) from a registry file, applies one
 * work message the way every queue's worker does (`toWorkItem`, then `applyWorkItem`), prints
 * the reports as one JSON line and exits.
 *
 * It can kill itself with SIGKILL, as a Lambda timeout or an out-of-memory kill would:
 * - `SP_CRASH_AT=<operation>:<n>:<before|during|after>`: at the n-th call of a gateway
 *   operation (counted over every cluster), before sending it, just after sending it (the
 *   answer never read), or once it has answered;
 * - `SP_CRASH_AFTER_MS=<ms>`: that long after the work starts, wherever it is.
 *
 *   SP_REGISTRY=registry.json SP_WORK_MESSAGE='{"changeId":...}' node --import tsx test/crash/worker.ts
 */
import type { ClusterAuthenticator, ClusterGateway } from '../../shared/core/ports.js';
import { toWorkItem } from '../../shared/engine/work-item.js';
import { createKubeGateway, createTokenAuthenticator } from '../../shared/kube/index.js';
import { loadRegistryFile } from '../../shared/registry/load.js';
import type { ClusterSpec } from '../../shared/registry/schema.js';
import { credentialReader } from '../../shared/runtime/credentials.js';
import { createRuntime, type Runtime } from '../../shared/runtime/index.js';
import { localSourceFactory } from '../../shared/sources/local/index.js';
import { createJsonLogger } from '../../shared/telemetry/index.js';

type Phase = 'before' | 'during' | 'after';

/** Where to die: the n-th call of one gateway operation, and when in it. */
export interface CrashPoint {
  operation: keyof ClusterGateway;
  call: number;
  phase: Phase;
}

/** `operation:n:phase` as a CrashPoint; an error names the variable when it is malformed. */
export function parseCrashPoint(text: string): CrashPoint {
  const [operation, call, phase] = text.split(':');
  if (
    operation === undefined ||
    !/^[1-9]\d*$/.test(call ?? '') ||
    !['before', 'during', 'after'].includes(phase ?? '')
  )
    throw new Error(`SP_CRASH_AT must be <operation>:<n>:<before|during|after>, got "${text}"`);
  return { operation: operation as keyof ClusterGateway, call: Number(call), phase: phase as Phase };
}

function die(): never {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: SIGKILL did not stop the process');
}

/**
 * The same gateway, with a death at `point`. Only the kill is added: every request still goes
 * to the real API server and every answer comes from it.
 */
function dyingAt(gateway: ClusterGateway, point: CrashPoint, calls: Map<string, number>): ClusterGateway {
  const original = gateway[point.operation];
  if (typeof original !== 'function') return gateway;
  const wrapped = async (...args: unknown[]): Promise<unknown> => {
    const n = (calls.get(point.operation) ?? 0) + 1;
    calls.set(point.operation, n);
    const call = () => (original as (...a: unknown[]) => Promise<unknown>).apply(gateway, args);
    if (n !== point.call) return call();
    if (point.phase === 'before') die();
    if (point.phase === 'during') {
      const pending = call();
      // Long enough for the request to leave, too short for most answers to come back.
      setTimeout(die, 2);
      return pending;
    }
    const result = await call();
    die();
    return result;
  };
  return Object.assign(Object.create(gateway) as ClusterGateway, { [point.operation]: wrapped });
}

async function main(): Promise<void> {
  const registryPath = process.env.SP_REGISTRY;
  const message = process.env.SP_WORK_MESSAGE;
  if (registryPath === undefined || message === undefined)
    throw new Error('SP_REGISTRY and SP_WORK_MESSAGE are required');
  const point = process.env.SP_CRASH_AT === undefined ? undefined : parseCrashPoint(process.env.SP_CRASH_AT);
  const afterMs =
    process.env.SP_CRASH_AFTER_MS === undefined ? undefined : Number(process.env.SP_CRASH_AFTER_MS);
  const calls = new Map<string, number>();
  const loaded = loadRegistryFile(registryPath);
  // The registry's own token auth, over the runtime's sources (built with it, used later).
  let tokens: ClusterAuthenticator | undefined;
  const credentialsOf = (cluster: ClusterSpec) => {
    tokens ??= createTokenAuthenticator({ readValue: credentialReader(runtime.sources) });
    return tokens.credentials({ name: cluster.name, auth: cluster.auth });
  };
  const runtime: Runtime = createRuntime({
    loaded,
    sources: { local: localSourceFactory },
    logger: createJsonLogger({ write: (line) => process.stderr.write(`${line}\n`), level: 'info' }),
    backoff: { baseMs: 5, maxMs: 20 },
    gatewayFor: (cluster: ClusterSpec) => {
      const gateway = createKubeGateway({
        name: cluster.name,
        ...(cluster.server === undefined ? {} : { server: cluster.server }),
        ...(cluster.caData === undefined ? {} : { caData: cluster.caData }),
        credentials: () => credentialsOf(cluster),
      });
      return point === undefined ? gateway : dyingAt(gateway, point, calls);
    },
  });
  const item = toWorkItem(JSON.parse(message) as unknown);
  if (afterMs !== undefined) setTimeout(die, afterMs);
  const reports = await runtime.propagator.applyWorkItem(item);
  process.stdout.write(`${JSON.stringify({ reports })}\n`);
  runtime.close?.();
  process.exit(0);
}

await main();
