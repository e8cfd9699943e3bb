/**
 * A real Kubernetes control plane for the conformance suite: etcd and kube-apiserver as child
 * processes on 127.0.0.1, with a static token file, RBAC authorization, service-account keys
 * and a serving certificate made at startup. The binaries come from scripts/test-servers.sh.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTlsMaterial } from '../../../dev/kube/tls.js';
import { freePort } from '../../support/ports.js';

/** A user of the static token file. */
export interface TokenUser {
  user: string;
  token: string;
  groups: string[];
}

/** What a test needs to reach the running server; serializable, so workers can read it from a file. */
export interface ControlPlaneEndpoint {
  /** `https://127.0.0.1:<port>` */
  server: string;
  /** Base64 PEM of the CA that signed the serving certificate. */
  caData: string;
  /** A system:masters token. */
  adminToken: string;
  /** Users without any permission until a test binds a Role to them. */
  users: TokenUser[];
  /** The server's `/version` answer. */
  version: Record<string, string>;
  /** Where the servers' logs are. */
  logDir: string;
  /**
   * The audit log (JSON lines, metadata level: who did what, and the answer's status; never a
   * body): what the server itself saw, e.g. every 403 a user received.
   */
  auditLog: string;
}

export interface ControlPlane extends ControlPlaneEndpoint {
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  etcd: string;
  kubeApiserver: string;
  /** Names of the unprivileged token users to create. */
  userNames: string[];
  /** How long to wait for `/readyz`. @default 180000 */
  readyTimeoutMs?: number;
}

/** GET over HTTPS with a bearer token, trusting only `caPem`; resolves with status and body. */
export function httpsGet(
  url: string,
  caPem: string,
  token: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { ca: caPem, headers: { authorization: `Bearer ${token}` }, timeout: 5_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function startProcess(binary: string, args: string[], logFile: string): ChildProcess {
  const log = createWriteStream(logFile);
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function etcdArgs(dataDir: string, clientPort: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    '--name=conformance',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=conformance=${peer}`,
    // Throwaway data: no fsync per write, which on a shared disk costs more than the tests.
    '--unsafe-no-fsync=true',
  ];
}

/** Writes the token file, certificates and keys kube-apiserver reads; returns its flags. */
function apiserverArgs(
  dir: string,
  etcdPort: number,
  port: number,
  tls: { certPem: string; keyPem: string },
  tokens: TokenUser[],
): string[] {
  const saKeys = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const files = {
    cert: join(dir, 'serving.crt'),
    key: join(dir, 'serving.key'),
    saPub: join(dir, 'sa.pub'),
    saKey: join(dir, 'sa.key'),
    tokens: join(dir, 'tokens.csv'),
    auditPolicy: join(dir, 'audit-policy.yaml'),
  };
  writeFileSync(files.cert, tls.certPem);
  writeFileSync(files.key, tls.keyPem, { mode: 0o600 });
  writeFileSync(files.saPub, saKeys.publicKey);
  writeFileSync(files.saKey, saKeys.privateKey, { mode: 0o600 });
  // token,user,uid,"group1,group2"
  writeFileSync(
    files.tokens,
    tokens.map((t) => `${t.token},${t.user},${t.user},"${t.groups.join(',')}"`).join('\n') + '\n',
    { mode: 0o600 },
  );
  // Metadata level: user, verb, URI and status of every request, and no request or response body.
  writeFileSync(
    files.auditPolicy,
    'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: ["RequestReceived"]\nrules:\n  - level: Metadata\n',
  );
  return [
    `--audit-policy-file=${files.auditPolicy}`,
    `--audit-log-path=${join(dir, 'audit.log')}`,
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--tls-cert-file=${files.cert}`,
    `--tls-private-key-file=${files.key}`,
    `--token-auth-file=${files.tokens}`,
    '--authorization-mode=RBAC',
    `--service-account-key-file=${files.saPub}`,
    `--service-account-signing-key-file=${files.saKey}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    // No kubernetes Service endpoints: the advertise address is loopback, and nothing in the
    // suite talks to a Service address.
    '--endpoint-reconciler-type=none',
    `--cert-dir=${join(dir, 'certs')}`,
  ];
}

async function waitReady(
  url: string,
  caPem: string,
  token: string,
  processes: ChildProcess[],
  timeoutMs: number,
  logDir: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const dead = processes.find((p) => p.exitCode !== null || p.signalCode !== null);
    if (dead !== undefined)
      throw new Error(`${dead.spawnfile} exited (${dead.exitCode ?? dead.signalCode}); logs in ${logDir}`);
    try {
      const answer = await httpsGet(`${url}/readyz`, caPem, token);
      if (answer.status === 200) return;
      last = `HTTP ${answer.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(500);
  }
  throw new Error(`kube-apiserver not ready after ${timeoutMs} ms (${last}); logs in ${logDir}`);
}

/** Starts etcd and kube-apiserver on free loopback ports and waits for `/readyz`. */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), 'sp-control-plane-'));
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const token = (): string => randomBytes(24).toString('hex');
  const admin: TokenUser = { user: 'conformance-admin', token: token(), groups: ['system:masters'] };
  const users = options.userNames.map((user) => ({ user, token: token(), groups: [] }));
  const tls = createTlsMaterial('secret-propagator conformance CA');
  const processes: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const p of [...processes].reverse()) await stopProcess(p);
  };
  try {
    processes.push(
      startProcess(options.etcd, etcdArgs(join(dir, 'etcd'), etcdPort, peerPort), join(dir, 'etcd.log')),
    );
    const args = apiserverArgs(dir, etcdPort, apiPort, tls, [admin, ...users]);
    processes.push(startProcess(options.kubeApiserver, args, join(dir, 'kube-apiserver.log')));
    const server = `https://127.0.0.1:${apiPort}`;
    await waitReady(server, tls.caPem, admin.token, processes, options.readyTimeoutMs ?? 180_000, dir);
    const version = JSON.parse((await httpsGet(`${server}/version`, tls.caPem, admin.token)).body) as Record<
      string,
      string
    >;
    return {
      server,
      caData: tls.caData,
      adminToken: admin.token,
      users,
      version,
      logDir: dir,
      auditLog: join(dir, 'audit.log'),
      stop: async () => {
        await stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
