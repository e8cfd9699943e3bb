/**
 * `npm run bench:clients [-- --endpoints N --requests R --concurrency C --latency ms --rounds K]`
 *
 * The HTTP client choice, measured: the same requests through `node:https` (a keep-alive agent
 * per endpoint, what the gateway's transport uses, sent as the bench's floor sends them), undici (a `Client` per endpoint, its
 * `request` API, over HTTP/1.1 and over HTTP/2) and `node:http2` (a session per endpoint, the
 * protocol client-go speaks to API servers), against N local TLS endpoints that speak both
 * protocols (clients-server.ts, in a process of its own) and answer after `--latency` ms.
 * Each endpoint gets R requests one after another, alternating a GET whose answer is read and
 * JSON.parsed and a POST whose answer is drained, as the engine reads and writes Secrets; C
 * endpoints are served at a time. Each client first runs one unmeasured round (its handshakes,
 * its code compiled), then the clients take turns for K measured rounds; every client keeps
 * its connections between rounds (the output counts the new ones). Prints the median CPU per
 * request and wall time per round, what the client adds to a function bundle, and one JSON
 * line. The npm script runs it with the functions' Node flags.
 */
import http2 from 'node:http2';
import https from 'node:https';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { Client } from 'undici';
import { applyFunctionV8Flags } from '../../shared/runtime/node-options.js';
import { startChild } from './child.js';
import { sendRequest, type FloorEndpoint, type FloorRequest } from './floor.js';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    endpoints: { type: 'string', default: '200' },
    requests: { type: 'string', default: '40' },
    concurrency: { type: 'string', default: '100' },
    latency: { type: 'string', default: '25' },
    rounds: { type: 'string', default: '5' },
  },
});
const settings = {
  endpoints: Number(values.endpoints),
  requests: Number(values.requests),
  concurrency: Number(values.concurrency),
  latencyMs: Number(values.latency),
  rounds: Number(values.rounds),
};
for (const [name, value] of Object.entries(settings)) {
  if (!Number.isInteger(value) || value < (name === 'latencyMs' ? 0 : 1))
    throw new Error(
      `--${name === 'latencyMs' ? 'latency' : name} must be a whole number${name === 'latencyMs' ? '' : ' of at least 1'} (got ${String(value)})`,
    );
}
applyFunctionV8Flags();

/** A Secret shaped like the engine's, as the servers answer it and the clients post it. */
const SECRET = JSON.stringify({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: 'app-db',
    namespace: 'app',
    labels: { 'app.kubernetes.io/managed-by': 'secret-propagator' },
    annotations: {
      'secret-propagator.io/binding': 'bench',
      'secret-propagator.io/content-hash': 'a'.repeat(64),
    },
  },
  type: 'Opaque',
  data: { username: 'YXBw', password: 'YmVuY2gtcGFzc3dvcmQ=', host: 'ZGIuaW50ZXJuYWw6NTQzMg==' },
});
const COLLECTION = '/api/v1/namespaces/app/secrets';
const TOKEN = 'bench-token';
/** The headers the floor's client sends (floor.ts), so that every client sends the same. */
const HEADERS = { authorization: `Bearer ${TOKEN}`, accept: 'application/json' };

/**
 * What each client adds to a function bundle: the import it needs, bundled and minified as the
 * functions are (built-in modules add nothing).
 */
const IMPORTS: Record<string, string | undefined> = {
  'node:https': undefined,
  'undici HTTP/1.1': "import { Client } from 'undici'; console.log(Client);",
  'undici HTTP/2': "import { Client } from 'undici'; console.log(Client);",
  'node:http2': undefined,
};

async function bundleKb(contents: string | undefined): Promise<number> {
  if (contents === undefined) return 0;
  const result = await build({
    stdin: { contents, resolveDir: process.cwd(), loader: 'js' },
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  return Math.round((result.outputFiles[0]?.contents.byteLength ?? 0) / 1024);
}

/** One request: answers the status once the answer is read (GET: parsed) or drained (POST). */
type Send = (endpoint: number, method: 'GET' | 'POST') => Promise<number>;
interface HttpClient {
  send: Send;
  close(): void;
}

/** `node:https` as the bench's floor sends with it (floor.ts), one keep-alive agent per endpoint. */
function nodeHttps(ports: readonly number[], secureContext: tls.SecureContext): HttpClient {
  const agents = ports.map(() => new https.Agent({ keepAlive: true, maxSockets: 1 }));
  const endpoints: FloorEndpoint[] = ports.map((port, i) => ({
    name: `endpoint-${i}`,
    server: `https://127.0.0.1:${port}`,
    caData: '', // the floor takes its TLS context from the caller
    token: TOKEN,
  }));
  const requests: Record<'GET' | 'POST', FloorRequest> = {
    GET: { method: 'GET', path: `${COLLECTION}/app-db` },
    POST: { method: 'POST', path: COLLECTION, body: SECRET },
  };
  return {
    send: (endpoint, method) => {
      const agent = agents[endpoint];
      const target = endpoints[endpoint];
      if (agent === undefined || target === undefined) throw new Error(`no endpoint ${endpoint}`);
      return sendRequest(agent, target, secureContext, requests[method], true);
    },
    close: () => agents.forEach((agent) => agent.destroy()),
  };
}

function undici(ports: readonly number[], secureContext: tls.SecureContext, allowH2: boolean): HttpClient {
  const clients = ports.map(
    (port) =>
      new Client(`https://127.0.0.1:${port}`, {
        connect: { secureContext },
        allowH2,
        // undici closes idle connections after 4 s by default, which would make it pay the
        // handshakes again in every round (the others keep theirs).
        keepAliveTimeout: 60_000,
        keepAliveMaxTimeout: 600_000,
      }),
  );
  return {
    send: async (endpoint, method) => {
      const client = clients[endpoint];
      if (client === undefined) throw new Error(`no endpoint ${endpoint}`);
      const { statusCode, body } = await client.request({
        path: method === 'GET' ? `${COLLECTION}/app-db` : COLLECTION,
        method,
        headers: method === 'POST' ? { ...HEADERS, 'content-type': 'application/json' } : HEADERS,
        ...(method === 'POST' ? { body: SECRET } : {}),
      });
      if (method === 'GET') JSON.parse(await body.text());
      else await body.dump();
      return statusCode;
    },
    close: () => void Promise.all(clients.map((client) => client.close())),
  };
}

function nodeHttp2(ports: readonly number[], secureContext: tls.SecureContext): HttpClient {
  const sessions = new Map<number, http2.ClientHttp2Session>();
  const sessionFor = (endpoint: number) => {
    let session = sessions.get(endpoint);
    if (session === undefined || session.closed || session.destroyed) {
      session = http2.connect(`https://127.0.0.1:${ports[endpoint]}`, { secureContext });
      session.on('error', () => sessions.delete(endpoint));
      sessions.set(endpoint, session);
    }
    return session;
  };
  return {
    send: (endpoint, method) =>
      new Promise((resolve, reject) => {
        const headers: http2.OutgoingHttpHeaders = {
          ...HEADERS,
          ':method': method,
          ':path': method === 'GET' ? `${COLLECTION}/app-db` : COLLECTION,
        };
        if (method === 'POST') headers['content-type'] = 'application/json';
        const stream = sessionFor(endpoint).request(headers, { endStream: method === 'GET' });
        let status = 0;
        const chunks: Buffer[] = [];
        stream.on('response', (response) => (status = Number(response[':status'])));
        if (method === 'GET') stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        else stream.resume();
        stream.on('end', () => {
          if (method === 'GET') JSON.parse(Buffer.concat(chunks).toString('utf8'));
          resolve(status);
        });
        stream.on('error', reject);
        if (method === 'POST') stream.end(SECRET);
      }),
    close: () => sessions.forEach((session) => session.close()),
  };
}

/** What the servers saw in a round (clients-server.ts). */
interface ServerCounts {
  connections: number;
  http1: number;
  http2: number;
}

/** Every endpoint's requests, C endpoints at a time; fails on any answer but 200 / 201. */
async function round(send: Send): Promise<void> {
  let next = 0;
  const runner = async () => {
    for (let endpoint = next++; endpoint < settings.endpoints; endpoint = next++) {
      for (let i = 0; i < settings.requests; i += 1) {
        const method = i % 2 === 0 ? 'GET' : 'POST';
        const status = await send(endpoint, method);
        if (status !== (method === 'GET' ? 200 : 201))
          throw new Error(`${method} to endpoint ${endpoint} answered ${status}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(settings.concurrency, settings.endpoints) }, runner));
}

const server = startChild(new URL('./clients-server.ts', import.meta.url).pathname, {
  execArgv: ['--import', 'tsx'],
});
try {
  const { ports, caPem } = await server.call<{ ports: number[]; caPem: string }>({
    op: 'start',
    count: settings.endpoints,
    latencyMs: settings.latencyMs,
    body: SECRET,
  });
  const secureContext = tls.createSecureContext({ ca: caPem });
  const clients: Record<string, HttpClient> = {
    'node:https': nodeHttps(ports, secureContext),
    'undici HTTP/1.1': undici(ports, secureContext, false),
    'undici HTTP/2': undici(ports, secureContext, true),
    'node:http2': nodeHttp2(ports, secureContext),
  };
  /** The protocol each client must have spoken (the servers offer both): a run that fell back fails. */
  const protocol: Record<string, 'http1' | 'http2'> = {
    'node:https': 'http1',
    'undici HTTP/1.1': 'http1',
    'undici HTTP/2': 'http2',
    'node:http2': 'http2',
  };
  const measured = new Map<string, { cpuUs: number[]; wallMs: number[]; connections: number[] }>();
  for (const [name, client] of Object.entries(clients)) {
    await round(client.send);
    measured.set(name, { cpuUs: [], wallMs: [], connections: [] });
  }
  const perRound = settings.endpoints * settings.requests;
  for (let r = 0; r < settings.rounds; r += 1) {
    for (const [name, client] of Object.entries(clients)) {
      await server.call({ op: 'counts' }); // counts from here
      const cpu = process.cpuUsage();
      const start = performance.now();
      await round(client.send);
      const used = process.cpuUsage(cpu);
      measured.get(name)?.wallMs.push(performance.now() - start);
      measured.get(name)?.cpuUs.push((used.user + used.system) / perRound);
      const seen = await server.call<ServerCounts>({ op: 'counts' });
      const spoken = protocol[name] ?? 'http1';
      if (seen[spoken] !== perRound)
        throw new Error(
          `${name} was to speak ${spoken}, but the servers saw ${JSON.stringify(seen)} in a round of ${perRound} requests`,
        );
      measured.get(name)?.connections.push(seen.connections);
    }
  }
  Object.values(clients).forEach((client) => client.close());

  console.log(
    `${settings.endpoints} endpoints x ${settings.requests} requests (GET parsed / POST drained), ${settings.concurrency} at a time, ${settings.latencyMs} ms latency; medians of ${settings.rounds} rounds`,
  );
  const results = [];
  for (const [client, m] of measured)
    results.push({
      client,
      cpuUsPerRequest: Math.round(median(m.cpuUs) * 10) / 10,
      wallMsPerRound: Math.round(median(m.wallMs)),
      cpuUsEach: m.cpuUs.map((us) => Math.round(us * 10) / 10),
      /** TLS connections the servers accepted during each measured round (0: every one was kept). */
      connectionsEach: m.connections,
      bundleKb: await bundleKb(IMPORTS[client]),
    });
  for (const r of results)
    console.log(
      `${r.client.padEnd(16)} ${String(r.cpuUsPerRequest).padStart(7)} µs CPU/request  ${String(r.wallMsPerRound).padStart(6)} ms/round  +${String(r.bundleKb).padStart(4)} KB bundled  (each: ${r.cpuUsEach.join(', ')}; new connections: ${r.connectionsEach.join(', ')})`,
    );
  console.log(JSON.stringify({ ...settings, results }));
} finally {
  await server.stop();
}
