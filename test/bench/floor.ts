import { createHash } from 'node:crypto';
import https from 'node:https';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { functionNodeOptions } from '../../shared/runtime/node-options.js';
import { startChild } from './child.js';
import { watchGc, type GcSummary } from './gc.js';

/**
 * The floor: the least a single Node process can spend doing exactly the requests the
 * engine made, with nothing but node:https. One keep-alive agent (so one TLS handshake)
 * per cluster, kept across runs like the engine's, the same concurrency as the engine, and no
 * parsing beyond draining bodies. Its `parse` variant also reads and JSON.parses the answer to
 * every GET (a Secret, a listing), nothing more: the least a client that decides from what it
 * reads must do. Answers to writes are drained, as the engine drains them. It runs in a child
 * process of its own (floor-process.ts),
 * so that its connections and heap never count in the engine's memory, nor its CPU in the
 * engine's.
 */

export interface FloorEndpoint {
  name: string;
  server: string;
  caData: string;
  token: string;
}

export interface FloorRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: string;
  contentType?: string;
}

export interface FloorResult {
  wallMs: number;
  cpuMs: number;
  /** The main thread's share of `cpuMs`. */
  mainCpuMs: number;
  gc: GcSummary;
  requests: number;
  failures: number;
}

/**
 * One request as the floor sends it, answering its status: the answer is drained, or with
 * `parse` a GET's answer is read and JSON.parsed. `npm run bench:gateway` uses it as its bare side.
 */
export function sendRequest(
  agent: https.Agent,
  endpoint: FloorEndpoint,
  secureContext: tls.SecureContext,
  request: FloorRequest,
  parse: boolean,
): Promise<number> {
  const url = new URL(request.path, endpoint.server);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      authorization: `Bearer ${endpoint.token}`,
      accept: 'application/json',
    };
    if (request.body !== undefined) {
      headers['content-type'] = request.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(request.body));
    }
    // secureContext is a tls.connect option that https passes through; its types omit it.
    const options: https.RequestOptions & Pick<tls.ConnectionOptions, 'secureContext'> = {
      host: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      method: request.method,
      agent,
      secureContext,
      headers,
    };
    const req = https.request(options, (res) => {
      res.on('error', reject);
      if (!parse || request.method !== 'GET') {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (body !== '' && res.headers['content-type']?.includes('json') === true) JSON.parse(body);
        resolve(res.statusCode ?? 0);
      });
    });
    req.on('error', reject);
    req.end(request.body);
  });
}

// One TLS context per distinct CA: building a context parses the CA bundle, which is
// pure waste to repeat per cluster when a fleet shares a CA.
const contexts = new Map<string, tls.SecureContext>();
function contextFor(caData: string): tls.SecureContext {
  let context = contexts.get(caData);
  if (context === undefined) {
    context = tls.createSecureContext({ ca: Buffer.from(caData, 'base64').toString('utf8') });
    contexts.set(caData, context);
  }
  return context;
}

/**
 * Agents kept across runs, as the engine keeps its connections within one warm function
 * instance: the first run against a fleet pays the handshakes, later runs reuse them.
 */
const agents = new Map<string, https.Agent>();

function agentFor(endpoint: FloorEndpoint): https.Agent {
  let agent = agents.get(endpoint.server);
  if (agent === undefined) {
    agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    agents.set(endpoint.server, agent);
  }
  return agent;
}

/** Closes the floor's kept connections (when its process is let go). */
export function closeFloor(): void {
  for (const agent of agents.values()) agent.destroy();
  agents.clear();
}

/**
 * Runs `requestsFor(endpoint)` against every endpoint, sequentially within a cluster and
 * `concurrency` clusters at a time, and measures wall time and this process's CPU.
 */
export async function runFloor(
  endpoints: readonly FloorEndpoint[],
  requestsFor: (endpoint: FloorEndpoint) => FloorRequest[],
  concurrency: number,
  parse = false,
): Promise<FloorResult> {
  const limit = pLimit(concurrency);
  let requests = 0;
  let failures = 0;
  const cpuStart = process.cpuUsage();
  const mainStart = process.threadCpuUsage();
  const gc = watchGc();
  const start = performance.now();
  await Promise.all(
    endpoints.map((endpoint) =>
      limit(async () => {
        const agent = agentFor(endpoint);
        const secureContext = contextFor(endpoint.caData);
        for (const request of requestsFor(endpoint)) {
          const status = await sendRequest(agent, endpoint, secureContext, request, parse);
          requests += 1;
          if (status >= 400) failures += 1;
        }
      }),
    ),
  );
  const wallMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  const main = process.threadCpuUsage(mainStart);
  return {
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    mainCpuMs: (main.user + main.system) / 1000,
    gc: gc.stop(),
    requests,
    failures,
  };
}

/** What the engine did per cluster in a run; the floor repeats it (see floorRequests). */
export interface FloorSpec {
  /** Requests per cluster by verb, as the fleet counted them (fractions are rounded). */
  perCluster: Record<string, number>;
  secrets: readonly string[];
  version: number;
  namespace: string;
  workload: string;
}

/** The managed-by label of the floor's Secrets: as long as the engine's `secret-propagator`. */
const FLOOR_MANAGER = 'floor-propagators';

/** The floor's requests for one cluster: the same verbs, paths and body sizes the engine used. */
export function floorRequests(spec: FloorSpec): FloorRequest[] {
  const { secrets, version, namespace, workload } = spec;
  const out: FloorRequest[] = [];
  const per = (verb: string) => Math.round(spec.perCluster[verb] ?? 0);
  const nameOf = (i: number) => secrets[i % secrets.length] ?? 'secret';
  const secretPath = (s: string) => `/api/v1/namespaces/${namespace}/secrets/floor-${s}`;
  const body = (s: string) =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      // The engine's labels and annotations, with values of the same length (the label value
      // differs so that the floor's listings hold the floor's Secrets, as many as the engine's).
      metadata: {
        name: `floor-${s}`,
        namespace,
        labels: { 'app.kubernetes.io/managed-by': FLOOR_MANAGER },
        annotations: {
          'secret-propagator.io/source': 'store',
          'secret-propagator.io/binding': s,
          'secret-propagator.io/version': String(version),
          'secret-propagator.io/version-created': new Date(
            Date.UTC(2026, 0, 1, 0, version - 1),
          ).toISOString(),
          'secret-propagator.io/content-hash': createHash('sha256').update(`${s}:${version}`).digest('hex'),
        },
      },
      type: 'Opaque',
      data: {
        username: 'YXBw',
        password: Buffer.from(`bench-password-${s}-v${version}`).toString('base64'),
        host: 'ZGIuaW50ZXJuYWw6NTQzMg==',
      },
    });
  for (let i = 0; i < per('list'); i++)
    out.push({
      method: 'GET',
      path: `/api/v1/namespaces/${namespace}/secrets?labelSelector=app.kubernetes.io%2Fmanaged-by%3D${FLOOR_MANAGER}`,
    });
  for (let i = 0; i < per('get'); i++) out.push({ method: 'GET', path: secretPath(nameOf(i)) });
  // Statuses are not checked: like the engine's, the floor's GET before a create answers 404,
  // and a repeated POST answers 409, which costs the server and client what a 201 does.
  for (let i = 0; i < per('create') + per('update'); i++) {
    const s = nameOf(i);
    out.push({
      method: i < per('create') ? 'POST' : 'PUT',
      path: i < per('create') ? `/api/v1/namespaces/${namespace}/secrets` : secretPath(s),
      body: body(s),
    });
  }
  for (let i = 0; i < per('patch'); i++) {
    out.push({
      method: 'PATCH',
      path: `/apis/apps/v1/namespaces/${namespace}/deployments/${workload}`,
      contentType: 'application/merge-patch+json',
      body: JSON.stringify({
        spec: { template: { metadata: { annotations: { 'floor/restartedAt': new Date().toISOString() } } } },
      }),
    });
  }
  return out;
}

/** The floor in its child process, driven over IPC. */
export interface FloorProcess {
  /** With `profile`, the floor's CPU profile of this run is written there; with `parse`, it reads and parses the answer to every GET. */
  run(spec: FloorSpec, concurrency: number, profile?: string, parse?: boolean): Promise<FloorResult>;
  stop(): Promise<void>;
}

/**
 * The floor runs with the Node flags a function instance of `functionMemoryMb` runs with and the
 * V8 settings the functions' runtime applies (as the engine beside it does), and with
 * `memoryLimitMb` it is held to the memory the engine is held to.
 */
export async function startFloorProcess(
  endpoints: readonly FloorEndpoint[],
  options: { functionMemoryMb: number; memoryLimitMb?: number },
): Promise<FloorProcess> {
  const child = startChild(fileURLToPath(new URL('./floor-process.ts', import.meta.url)), {
    execArgv: ['--import', 'tsx', ...functionNodeOptions(options.functionMemoryMb).split(' ')],
    ...(options.memoryLimitMb === undefined ? {} : { memoryLimitMb: options.memoryLimitMb }),
  });
  await child.call({ op: 'endpoints', endpoints });
  return {
    run: (spec, concurrency, profile, parse) =>
      child.call<FloorResult>({
        op: 'run',
        spec,
        concurrency,
        ...(profile === undefined ? {} : { profile }),
        ...(parse === true ? { parse } : {}),
      }),
    stop: () => child.stop(),
  };
}
