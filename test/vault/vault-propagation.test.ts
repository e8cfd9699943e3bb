/**
 * Acceptance, end to end: a Vault KV v2 version bump is found by the poll and propagated
 * by the runtime to local clusters over HTTPS; an unchanged poll writes nothing; a
 * certificate within minValidity is refused, nothing is written, and no log line holds
 * any part of the value.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Annotation } from '../../shared/engine/annotations.js';
import { parseRegistry } from '../../shared/registry/load.js';
import type { RegistryInput } from '../../shared/registry/schema.js';
import type { Runtime } from '../../shared/runtime/index.js';
import { localSourceFactory } from '../../shared/sources/local/index.js';
import {
  createMemoryPollState,
  createVaultClient,
  createVaultSource,
  pollVault,
  type VaultSource,
} from '../../shared/sources/vault/index.js';
import { createJsonLogger } from '../../shared/telemetry/index.js';
import {
  CLUSTER_TOKENS_SOURCE,
  registryClusters,
  startLocalFleet,
  tokenSecrets,
  type LocalFleet,
} from '../support/clusters.js';
import { makeCert, makeChain } from '../template/certs.js';
import { startLocalVault, type LocalVault } from './vault-server.js';

const CANARY = 'CANARY-vault-4d2e-never-log-me';
const NAMES = ['eu-1', 'us-1'];
const NS = 'payments';
const NOW = new Date();
const HOUR = 3_600_000;

let fleet: LocalFleet;
let vault: LocalVault;
let dir: string;
let runtime: Runtime;
let source: VaultSource;
const logLines: string[] = [];

beforeAll(async () => {
  const { createRuntime } = await import('../../shared/runtime/index.js');
  [fleet, vault] = await Promise.all([
    startLocalFleet({ names: NAMES, rolloutDelayMs: 10 }),
    startLocalVault(),
  ]);
  for (const name of NAMES) fleet.state.seedNamespace(name, NS);
  dir = mkdtempSync(join(tmpdir(), 'sp-vault-'));
  writeFileSync(join(dir, 'tokens.json'), JSON.stringify(tokenSecrets(fleet)));
  const input: RegistryInput = {
    apiVersion: 'secret-propagator/v1',
    settings: { targetTimeout: '2s' },
    clusters: registryClusters(fleet),
    sources: [
      { name: CLUSTER_TOKENS_SOURCE, provider: 'local', path: 'tokens.json' },
      {
        name: 'vault-main',
        provider: 'vault',
        address: vault.address,
        auth: { type: 'token', tokenEnv: 'TEST_VAULT_TOKEN' },
      },
    ],
    bindings: [
      {
        name: 'payments-db',
        source: 'vault-main',
        remoteRef: { key: 'payments/db' },
        data: [
          { secretKey: 'username', property: 'username' },
          { secretKey: 'password', property: 'password' },
        ],
        target: { name: 'db-credentials', namespace: NS, clusters: { matchLabels: {} } },
      },
      {
        name: 'payments-tls',
        source: 'vault-main',
        remoteRef: { key: 'payments/tls' },
        data: [
          { secretKey: 'crt', property: 'certificate' },
          { secretKey: 'key', property: 'private_key' },
        ],
        validate: { tls: { minValidity: '24h' } },
        target: {
          name: 'payments-tls',
          namespace: NS,
          clusters: { matchLabels: {} },
          template: { type: 'kubernetes.io/tls', data: { 'tls.crt': '{{ .crt }}', 'tls.key': '{{ .key }}' } },
        },
      },
    ],
  };
  const loaded = parseRegistry(JSON.stringify(input), 'test', dir);
  runtime = createRuntime({
    loaded,
    sources: {
      local: localSourceFactory,
      // The real factory path, with the token given explicitly instead of the process env.
      vault: (spec) =>
        createVaultSource({
          name: spec.name,
          mount: spec.mount,
          client: createVaultClient(spec, { TEST_VAULT_TOKEN: 'root-token' }),
        }),
    },
    logger: createJsonLogger({ write: (line) => logLines.push(line), level: 'debug' }),
    backoff: { baseMs: 5, maxMs: 20 },
  });
  const built = runtime.sources.get('vault-main');
  if (built === undefined) throw new Error('vault source not built');
  source = built as VaultSource;
});

afterAll(async () => {
  await Promise.all([fleet.stop(), vault.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const writes = () => fleet.requests().filter((r) => ['create', 'update', 'patch', 'delete'].includes(r.verb));
const secretOf = (cluster: string, name: string) =>
  fleet.state.getSecret(cluster, NS, name) as
    { data?: Record<string, string>; metadata: { annotations?: Record<string, string> } } | undefined;
const value = (cluster: string, name: string, key: string) => {
  const encoded = secretOf(cluster, name)?.data?.[key];
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString();
};

describe('vault poll -> propagation', () => {
  it('propagates a version bump found by the poll, and an unchanged poll writes nothing', async () => {
    // given: version 1 is in every cluster and the poll has its baseline
    vault.put('payments/db', { username: 'app', password: 'first-password' });
    const state = createMemoryPollState();
    expect(await pollVault({ source, keys: ['payments/db'], state })).toEqual([]);
    expect(runtime.summarize(await runtime.scheduled('reconcile', ['payments-db'])).ok).toBe(true);
    fleet.resetRequests();
    vault.requests.length = 0;

    // when: a poll with no change
    const unchanged = await pollVault({ source, keys: ['payments/db'], state });
    // then: one metadata read, nothing to handle, nothing written
    expect(unchanged).toEqual([]);
    expect(vault.requests.map((r) => r.path)).toEqual(['/v1/secret/metadata/payments/db']);
    expect(writes()).toEqual([]);

    // when: the secret gets a new version and the poll runs
    vault.put('payments/db', { username: 'app', password: CANARY });
    const changes = await pollVault({ source, keys: ['payments/db'], state });
    const reports = (await Promise.all(changes.map((change) => runtime.handle(change)))).flat();
    // then
    expect(changes).toHaveLength(1);
    expect(runtime.summarize(reports)).toMatchObject({ ok: true, counts: { updated: 2 } });
    for (const cluster of NAMES) {
      expect(value(cluster, 'db-credentials', 'password')).toBe(CANARY);
      expect(secretOf(cluster, 'db-credentials')?.metadata.annotations?.[Annotation.Version]).toBe('2');
    }
  });

  it('refuses a certificate within minValidity: nothing is written, the old value stays, the log holds no part of it', async () => {
    // given: a good certificate in every cluster
    const { ca, leaf } = makeChain(NOW, 90);
    vault.put('payments/tls', { certificate: leaf.cert, private_key: leaf.key });
    const state = createMemoryPollState();
    await pollVault({ source, keys: ['payments/tls'], state });
    expect(runtime.summarize(await runtime.scheduled('reconcile', ['payments-tls'])).ok).toBe(true);
    fleet.resetRequests();
    const soon = makeCert({
      cn: 'soon.example',
      notBefore: new Date(NOW.getTime() - HOUR),
      notAfter: new Date(NOW.getTime() + 12 * HOUR),
      issuer: ca,
    });
    vault.put('payments/tls', { certificate: soon.cert, private_key: soon.key });
    const linesBefore = logLines.length;

    // when
    const changes = await pollVault({
      source,
      keys: ['payments/tls'],
      state,
      logger: createJsonLogger({ write: (line) => logLines.push(line) }),
    });
    const reports = (await Promise.all(changes.map((change) => runtime.handle(change)))).flat();

    // then
    if (changes.length !== 1) console.log(logLines.slice(linesBefore).join('\n'), vault.requests.slice(-5));
    expect(changes).toHaveLength(1);
    expect(reports[0]?.error).toMatchObject({ code: 'ValidationGateFailed', retryable: false });
    expect(reports[0]?.error?.message).toContain('within minValidity 24h');
    expect(writes()).toEqual([]);
    for (const cluster of NAMES) expect(value(cluster, 'payments-tls', 'tls.crt')).toBe(leaf.cert);
    const newLines = logLines.slice(linesBefore);
    expect(newLines.some((line) => line.includes('ValidationGateFailed'))).toBe(true);
    const body = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    const fragments = [body(soon.cert), body(soon.key)].flatMap((b) =>
      Array.from({ length: Math.floor(b.length / 16) }, (_, i) => b.slice(i * 16, i * 16 + 16)),
    );
    for (const line of newLines) for (const fragment of fragments) expect(line).not.toContain(fragment);
  });

  it('never logs a value in this whole run', () => {
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) expect(line).not.toContain(CANARY);
  });
});
