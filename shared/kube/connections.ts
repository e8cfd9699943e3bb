import { totalmem } from 'node:os';

/**
 * What one kept-open TLS connection to an API server costs in resident memory: OpenSSL's
 * state and buffers, the socket and its HTTP parser. Measured at about 75 KiB on Node 22
 * (1,500 connections: +113 MB RSS); rounded up.
 */
export const BYTES_PER_CONNECTION = 96 * 1024;

/** Share of the process's memory that idle connections may take under `idleConnections: auto`. */
export const IDLE_CONNECTION_MEMORY_SHARE = 0.25;

/** Something that holds connections open between requests: one cluster's transport. */
export interface ConnectionHolder {
  /** Connections it has open now, idle or busy (the server may have closed some). */
  openConnections(): number;
}

/**
 * Decides which clusters keep their connections open once their requests are done.
 * Holders are kept first come, first kept, up to `limit`, and stay kept: a fleet visited in
 * the same order every time then finds the same clusters warm, where least-recently-used
 * eviction would find none (each new connection would evict the next one needed).
 */
export interface ConnectionBudget {
  readonly limit: number;
  /** Asked when `holder` has no request in flight: may it keep its connections? */
  keep(holder: ConnectionHolder): boolean;
  /** Whether `holder` is kept already (then `keep` answers yes, so there is nothing to decide). */
  holds(holder: ConnectionHolder): boolean;
  /** `holder` closed its connections. */
  release(holder: ConnectionHolder): void;
}

/** How often a full budget looks for holders whose servers closed their connections. */
const SWEEP_INTERVAL_MS = 1_000;

export function createConnectionBudget(
  limit: number,
  now: () => number = () => performance.now(),
): ConnectionBudget {
  const kept = new Set<ConnectionHolder>();
  let lastSweep = Number.NEGATIVE_INFINITY;
  return {
    limit,
    keep(holder) {
      if (kept.has(holder)) return true;
      if (kept.size >= limit && now() - lastSweep >= SWEEP_INTERVAL_MS) {
        lastSweep = now();
        for (const h of kept) if (h.openConnections() === 0) kept.delete(h);
      }
      if (kept.size >= limit) return false;
      kept.add(holder);
      return true;
    },
    holds(holder) {
      return kept.has(holder);
    },
    release(holder) {
      kept.delete(holder);
    },
  };
}

/**
 * The memory this process may use: the Lambda function's configured size, else the cgroup
 * limit (Cloud Functions, Azure Functions, containers), else the machine's memory.
 */
export function memoryLimitBytes(env: NodeJS.ProcessEnv = process.env): number {
  const lambdaMb = Number(env['AWS_LAMBDA_FUNCTION_MEMORY_SIZE']);
  if (Number.isFinite(lambdaMb) && lambdaMb > 0) return lambdaMb * 2 ** 20;
  const machine = totalmem();
  const constrained = process.constrainedMemory();
  return constrained > 0 && constrained < machine ? constrained : machine;
}

/** `idleConnections: auto`: a quarter of the process's memory, at BYTES_PER_CONNECTION each. */
export function autoIdleConnections(memoryBytes: number = memoryLimitBytes()): number {
  return Math.max(1, Math.floor((memoryBytes * IDLE_CONNECTION_MEMORY_SHARE) / BYTES_PER_CONNECTION));
}
