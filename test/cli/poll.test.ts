/**
 * `secret-propagator poll`: the scheduled Vault poll as a command. A version bump in a local
 * KV v2 server reaches every local cluster; a poll with nothing new writes nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../shared/cli/main.js';
import type { RegistryInput } from '../../shared/registry/schema.js';
import {
  CLUSTER_TOKENS_SOURCE,
  registryClusters,
  startLocalFleet,
  tokenSecrets,
  type LocalFleet,
} from '../support/clusters.js';
import { startLocalVault, type LocalVault } from '../vault/vault-server.js';

const NAMES = ['eu-1', 'us-1'];
const NS = 'payments';
const CANARY = 'CANARY-poll-cli-5e1b';

let fleet: LocalFleet;
let vault: LocalVault;
let dir: string;
const out: string[] = [];
const io = { out: (t: string) => void out.push(t), err: (t: string) => void out.push(t), isTTY: false };

beforeAll(async () => {
  [fleet, vault] = await Promise.all([
    startLocalFleet({ names: NAMES, rolloutDelayMs: 10 }),
    startLocalVault({ rootToken: 'poll-root' }),
  ]);
  for (const name of NAMES) fleet.state.seedNamespace(name, NS);
  dir = mkdtempSync(join(tmpdir(), 'sp-poll-'));
  writeFileSync(join(dir, 'tokens.json'), JSON.stringify(tokenSecrets(fleet)));
  const registry: RegistryInput = {
    apiVersion: 'secret-propagator/v1',
    settings: { targetTimeout: '5s' },
    clusters: registryClusters(fleet),
    sources: [
      { name: CLUSTER_TOKENS_SOURCE, provider: 'local', path: 'tokens.json' },
      {
        name: 'vault-main',
        provider: 'vault',
        address: vault.address,
        auth: { type: 'token', tokenEnv: 'POLL_TEST_VAULT_TOKEN' },
      },
    ],
    bindings: [
      {
        name: 'payments-db',
        source: 'vault-main',
        remoteRef: { key: 'payments/db' },
        dataFrom: [{ extract: {} }],
        target: { name: 'db-credentials', namespace: NS, clusters: { matchLabels: {} } },
      },
    ],
  };
  writeFileSync(join(dir, 'registry.yaml'), JSON.stringify(registry));
  process.env['POLL_TEST_VAULT_TOKEN'] = 'poll-root';
});

afterAll(async () => {
  await Promise.all([fleet.stop(), vault.stop()]);
  rmSync(dir, { recursive: true, force: true });
  delete process.env['POLL_TEST_VAULT_TOKEN'];
});

const poll = () =>
  runCli(['poll', '--registry', join(dir, 'registry.yaml'), '--state', join(dir, 'state.json')], io);
const password = (cluster: string) => {
  const data = (
    fleet.state.getSecret(cluster, NS, 'db-credentials') as { data?: Record<string, string> } | undefined
  )?.data;
  return data?.['password'] === undefined ? undefined : Buffer.from(data['password'], 'base64').toString();
};
const writes = () => fleet.requests().filter((r) => ['create', 'update', 'patch'].includes(r.verb));

describe('secret-propagator poll', () => {
  it('records the current versions on the first poll, then propagates only a version bump', async () => {
    // given version 1 in Vault, already known from a first poll (which only records versions)
    vault.put('payments/db', { username: 'app', password: 'first' });
    expect(await poll()).toBe(0);
    fleet.resetRequests();
    // when an unchanged poll runs
    expect(await poll()).toBe(0);
    // then nothing is written anywhere
    expect(writes()).toEqual([]);
    // when a new version is written and the next poll runs
    vault.put('payments/db', { username: 'app', password: CANARY });
    expect(await poll()).toBe(0);
    // then every cluster holds it, and the command's output never shows it
    for (const name of NAMES) expect(password(name)).toBe(CANARY);
    expect(out.join('\n')).toContain('1 changed secret(s)');
    expect(out.join('\n')).not.toContain(CANARY);
  });
});
