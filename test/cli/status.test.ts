import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import {
  CLUSTER_TOKENS_SOURCE,
  registryClusters,
  startLocalFleet,
  tokenSecrets,
  type LocalFleet,
} from '../support/clusters.js';
import { launchChromium } from '../support/chromium.js';
import { aBinding, toYaml } from './registry-builders.js';
import { repoRoot, runCli, runCliInProcess, tlsMaterial } from './run-cli.js';

const CANARY = 'canary-status-password-7c41';
const CANARY_V2 = 'canary-status-password-v2-91d3';
const CLUSTERS = ['dev-1', 'prod-1', 'prod-2'];
const NAMESPACE = 'ns-status';

let fleet: LocalFleet;
let dir: string;
let registry: string;
let storePath: string;

function store(passwords: readonly string[]): string {
  return stringify({
    'prod/database': {
      versions: passwords.map((password, i) => ({ id: String(i + 1), value: { username: 'app', password } })),
    },
    'prod/api-key': { versions: [{ id: '7', value: { key: `${CANARY}-api` } }] },
  });
}

const listsOf = (cluster: string) =>
  fleet.requests(cluster).filter((r) => r.verb === 'list' && r.path.includes('/secrets'));

beforeAll(async () => {
  fleet = await startLocalFleet({ names: CLUSTERS, rolloutDelayMs: 10, tls: await tlsMaterial() });
  dir = await mkdtemp(join(tmpdir(), 'cli-status-'));
  for (const cluster of CLUSTERS) fleet.state.seedNamespace(cluster, NAMESPACE);
  storePath = join(dir, 'store.yaml');
  await writeFile(storePath, store([CANARY]));
  await writeFile(join(dir, 'tokens.json'), JSON.stringify(tokenSecrets(fleet)));
  registry = join(dir, 'registry.yaml');
  await writeFile(
    registry,
    toYaml({
      apiVersion: 'secret-propagator/v1',
      settings: { retries: 0, targetTimeout: '5s' },
      clusters: registryClusters(fleet, { labels: (c) => ({ env: c.split('-')[0] ?? 'dev' }) }),
      sources: [
        { name: 'local-store', provider: 'local', path: 'store.yaml' },
        { name: CLUSTER_TOKENS_SOURCE, provider: 'local', path: 'tokens.json' },
      ],
      bindings: [
        aBinding({ target: { name: 'db-credentials', namespace: NAMESPACE, clusters: { matchLabels: {} } } }),
        aBinding({
          name: 'api-key',
          remoteRef: { key: 'prod/api-key' },
          target: { name: 'api-key', namespace: NAMESPACE, clusters: { matchLabels: { env: 'prod' } } },
        }),
      ],
    }),
  );
  // Every cluster at version 1, then version 2 everywhere but prod-2 (down during the sync).
  expect((await runCliInProcess(['sync', '--registry', registry])).code).toBe(0);
  await writeFile(storePath, store([CANARY, CANARY_V2]));
  fleet.setFault('prod-2', { status: 503, times: 50 });
  expect((await runCliInProcess(['sync', '--registry', registry])).code).toBe(1);
  fleet.clearFaults();
});
afterAll(async () => {
  await fleet.stop();
  await rm(dir, { recursive: true, force: true });
});

afterEach(() => fleet.clearFaults());

describe('secret-propagator status', () => {
  it('prints a summary line per binding and the exceptions with their causes, one listing per cluster and namespace', async () => {
    // given prod-1 unreachable now, prod-2 behind since the last sync
    fleet.setFault('prod-1', { status: 503, times: 50 });
    fleet.resetRequests();
    // when
    const run = await runCli(['status', '--registry', registry]);
    // then
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('payments-db (version 2): 1/3 current, 1 unreachable, 1 behind');
    expect(run.stdout).toContain('api-key (version 7): 1/2 current, 1 unreachable');
    expect(run.stdout).toMatch(
      /prod-1\s+ns-status\s+db-credentials\s+payments-db\s+unreachable\s+-\s+2\s+ClusterUnavailable: /,
    );
    expect(run.stdout).toMatch(/prod-2\s+ns-status\s+db-credentials\s+payments-db\s+behind\s+1\s+2\s+-/);
    expect(run.stdout).not.toMatch(/dev-1\s+ns-status/); // current: not an exception
    expect(run.stderr).toContain("not at the store's current version");
    for (const cluster of CLUSTERS) expect(listsOf(cluster).length).toBe(1);
    expect(fleet.requests().filter((r) => r.verb !== 'get' && r.verb !== 'list')).toEqual([]);
    expect(run.stdout + run.stderr).not.toContain(CANARY);
  });

  it('filters by --cluster, --selector and --behind, and --all prints every row', async () => {
    // when
    const dev = await runCliInProcess(['status', '--registry', registry, '--cluster', 'dev-1', '--all']);
    const prod = await runCliInProcess([
      'status',
      '--registry',
      registry,
      '--selector',
      'env=prod',
      '--output',
      'json',
    ]);
    const behind = await runCliInProcess(['status', '--registry', registry, '--behind', '--output', 'json']);
    const bad = await runCliInProcess(['status', '--registry', registry, '--selector', 'env=prod,=x']);
    // then
    expect(dev.code).toBe(0);
    expect(dev.stdout).toContain('payments-db (version 2): 1/1 current');
    expect(dev.stdout).not.toContain('api-key');
    expect(dev.stdout).toMatch(/dev-1\s+ns-status\s+db-credentials\s+payments-db\s+current\s+2\s+2/);
    const prodJson = JSON.parse(prod.stdout) as {
      bindings: { binding: string; targets: { cluster: string; state: string }[] }[];
    };
    expect(prodJson.bindings.map((b) => b.binding)).toEqual(['payments-db', 'api-key']);
    expect(prodJson.bindings[0]?.targets.map((t) => `${t.cluster}:${t.state}`)).toEqual([
      'prod-1:current',
      'prod-2:behind',
    ]);
    const behindJson = JSON.parse(behind.stdout) as typeof prodJson;
    expect(
      behindJson.bindings.map((b) => b.targets.map((t) => `${b.binding}@${t.cluster}:${t.state}`)).flat(),
    ).toEqual(['payments-db@prod-2:behind']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--selector "env=prod,=x": "=x" has no valid label key');
    expect(dev.stdout + prod.stdout + behind.stdout + bad.stderr).not.toContain(CANARY);
  });

  it('writes one self-contained HTML page that a browser renders as a coloured fleet grid with the exceptions', async () => {
    // given
    fleet.setFault('prod-1', { status: 503, times: 50 });
    const page = join(dir, 'status.html');
    // when
    const run = await runCliInProcess(['status', '--registry', registry, '--output', 'html', '--out', page]);
    // then
    expect(run.code).toBe(1);
    const html = await readFile(page, 'utf8');
    expect(html).not.toContain(CANARY);
    expect(html).not.toMatch(/<(script|link|img)\b/i);
    const browser = await launchChromium();
    try {
      const tab = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const requested: string[] = [];
      tab.on('request', (request) => requested.push(request.url()));
      await tab.goto(pathToFileURL(page).href);
      expect(requested).toEqual([pathToFileURL(page).href]);
      expect(await tab.title()).toBe('secret-propagator fleet status');
      expect(await tab.locator('.grid tbody tr').count()).toBe(3);
      expect(await tab.locator('.grid td.cu').count()).toBe(2);
      // Each state renders in its own colour, as the legend shows it.
      const colour = (selector: string) =>
        tab
          .locator(selector)
          .first()
          .evaluate((el) => getComputedStyle(el).backgroundColor);
      expect(await colour('.grid td.cu')).toBe('rgb(46, 125, 50)');
      expect(await colour('.grid td[data-state="behind"]')).toBe('rgb(249, 168, 37)');
      expect(await colour('.grid td[data-state="unreachable"]')).toBe('rgb(229, 57, 53)');
      expect(await tab.locator('.grid td.no').count()).toBe(1); // api-key does not target dev-1
      expect(await tab.locator('.grid td[data-state="behind"]').getAttribute('title')).toBe(
        'prod-2 / payments-db: behind, holds 1',
      );
      const exceptions = await tab.locator('.exceptions tbody tr').allInnerTexts();
      expect(exceptions).toHaveLength(3);
      expect(exceptions[0]).toMatch(
        /prod-1\s+api-key\s+ns-status\/api-key\s+unreachable\s+-\s+7\s+ClusterUnavailable: /,
      );
      expect(exceptions[2]).toMatch(/prod-2\s+payments-db\s+ns-status\/db-credentials\s+behind\s+1\s+2/);
      expect(await tab.locator('[data-legend="current"]').innerText()).toBe('current (2)');
      expect(await tab.locator('body').innerText()).not.toContain(CANARY);
      const artifacts = join(repoRoot, '.build', 'test-artifacts');
      await mkdir(artifacts, { recursive: true });
      await tab.screenshot({ path: join(artifacts, 'status-page.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it('refuses --output html without --out', async () => {
    const run = await runCliInProcess(['status', '--registry', registry, '--output', 'html']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--output html needs --out <file>');
  });
});
