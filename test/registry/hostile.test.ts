import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedTls } from '../../dev/kube/tls.js';
import { ConfigError } from '../../shared/core/errors.js';
import { parseRegistry, REGISTRY_LIMITS } from '../../shared/registry/load.js';
import { runCliInProcess } from '../cli/run-cli.js';
import { aRegistry, binding, problemsOf, type Tweak } from './a-registry.js';

const settings =
  (values: object): Tweak =>
  (r) =>
    void Object.assign(r, { settings: values });
const schedule =
  (values: object): Tweak =>
  (r) =>
    void Object.assign(binding(r), { schedule: values });
const caData =
  (value: string): Tweak =>
  (r) =>
    void Object.assign(r.clusters[0] ?? {}, { caData: value });
const target =
  (values: object): Tweak =>
  (r) =>
    void Object.assign(binding(r)['target'] ?? {}, values);

/** 10 levels of 10 aliases: 10^10 nodes once expanded, a few hundred bytes as text. */
const ALIAS_BOMB = [
  'apiVersion: secret-propagator/v1',
  'a0: &a0 [x, x, x, x, x, x, x, x, x, x]',
  ...Array.from({ length: 9 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`),
].join('\n');

describe('registry grammar: nonsense is rejected with its path', () => {
  it.each<[string, Tweak, string]>([
    [
      'a schedule in words',
      schedule({ reconcile: 'every tuesday' }),
      'bindings[0].schedule.reconcile: "every tuesday" is not a schedule (expected rate(N minutes|hours|days), cron(m h dom mon dow year) or a 5-field unix cron)',
    ],
    [
      'a rate of zero',
      schedule({ rotate: 'rate(0 minutes)' }),
      'bindings[0].schedule.rotate: rate must be at least 1 (expected rate(N minutes|hours|days), cron(m h dom mon dow year) or a 5-field unix cron)',
    ],
    [
      'a singular unit on a plural rate',
      schedule({ rotate: 'rate(5 minute)' }),
      'bindings[0].schedule.rotate: rate(5 ...) takes the plural unit',
    ],
    [
      'a cron with both day fields set',
      schedule({ rotate: 'cron(0 2 * * SUN *)' }),
      'bindings[0].schedule.rotate: cron(...): exactly one of day-of-month and day-of-week must be "?"',
    ],
    [
      'a cron hour out of range',
      schedule({ rotate: 'cron(0 24 ? * SUN *)' }),
      'bindings[0].schedule.rotate: cron(...): field hours "24" is not valid',
    ],
    [
      'a zero target timeout',
      settings({ targetTimeout: '0s' }),
      'settings.targetTimeout: must be between 1s and 15m',
    ],
    [
      'a target timeout that overflows a timer',
      settings({ targetTimeout: '25d' }),
      'settings.targetTimeout: must be between 1s and 15m',
    ],
    [
      'caData that is not PEM',
      caData(Buffer.from('not a certificate').toString('base64')),
      'clusters[0].caData: must be base64 of a PEM CA bundle (at least one -----BEGIN CERTIFICATE----- block)',
    ],
    [
      'caData that is not base64',
      caData('%%%'),
      'clusters[0].caData: must be base64 of a PEM CA bundle (at least one -----BEGIN CERTIFICATE----- block)',
    ],
    [
      'a target namespace that is a path',
      target({ namespace: '../Foo Bar' }),
      'bindings[0].target.namespace: must be a DNS-1123 label: at most 63 lowercase letters, digits and "-", starting and ending alphanumeric',
    ],
    [
      'a Secret name with an empty label',
      target({ name: 'db..credentials' }),
      'bindings[0].target.name: must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", each part starting and ending alphanumeric, at most 253',
    ],
    [
      'a namespaces allowlist entry with capitals',
      (r) => void Object.assign(r.clusters[1] ?? {}, { namespaces: ['Payments'] }),
      'clusters[1].namespaces[0]: must be a DNS-1123 label: at most 63 lowercase letters, digits and "-", starting and ending alphanumeric',
    ],
    [
      'an unknown restart kind',
      (r) => void Object.assign(binding(r), { restart: { kinds: ['Rollout'] } }),
      'bindings[0].restart.kinds[0]: must be one of "Deployment", "StatefulSet", "DaemonSet"',
    ],
    [
      'a cluster selector of neither form',
      target({ clusters: { nomes: ['prod-eu-1'] } }),
      'bindings[0].target.clusters: fits none of its forms: { matchLabels: required (expected record); unknown key "nomes" (check the spelling against the registry reference) } or { names: required (expected array); unknown key "nomes" (check the spelling against the registry reference) }',
    ],
  ])('rejects %s', (_case, tweak, expected) => {
    // given
    const text = aRegistry(tweak);
    // when
    const problems = problemsOf(text);
    // then
    expect(problems).toContain(expected);
  });

  it.each<[string, Tweak]>([
    ['EventBridge rate and cron', schedule({ reconcile: 'rate(1 hour)', rotate: 'cron(0 2 ? * SUN *)' })],
    [
      'a plural rate and a cron with day-of-month',
      schedule({ reconcile: 'rate(30 days)', rotate: 'cron(15 */6 1,15 * ? *)' }),
    ],
    ['a 5-field unix cron (Cloud Scheduler)', schedule({ rotate: '0 2 * * 0' })],
    ['the timeout bounds themselves', settings({ targetTimeout: '1s' })],
    ['the upper timeout bound', settings({ targetTimeout: '15m' })],
    ['caData as base64 PEM', caData(sharedTls().caData)],
    ['caData as PEM text', caData(sharedTls().caPem)],
    ['a dotted Secret name', target({ name: 'db.credentials-v2' })],
  ])('accepts %s', (_case, tweak) => {
    // given
    const text = aRegistry(tweak);
    // when
    const problems = problemsOf(text);
    // then
    expect(problems).toEqual([]);
  });
});

describe('registry loader: hostile YAML is refused with the limit it hit', () => {
  it('refuses an alias bomb, naming maxAliasCount', () => {
    // when / then
    expect(() => parseRegistry(ALIAS_BOMB)).toThrow(ConfigError);
    expect(() => parseRegistry(ALIAS_BOMB)).toThrow(
      `registry inline expands its aliases more than ${REGISTRY_LIMITS.maxAliasCount} times (REGISTRY_LIMITS.maxAliasCount)`,
    );
  });

  it('still reads the ordinary use of an anchor: one labels block shared by clusters', () => {
    // given
    const text = aRegistry().replace('labels:\n      env: prod', 'labels: &prod\n      env: prod');
    const shared = text.replace('labels:\n      env: staging', 'labels: *prod');
    // when
    const { registry } = parseRegistry(shared);
    // then
    expect(registry.clusters.map((c) => c.labels)).toEqual([{ env: 'prod' }, { env: 'prod' }]);
  });

  it('refuses an alias to an anchor that does not exist as invalid YAML', () => {
    expect(() => parseRegistry('apiVersion: secret-propagator/v1\nclusters: *nowhere\n')).toThrow(
      /not valid YAML\n {2}Unresolved alias/,
    );
  });

  it.each([
    ['flow', `apiVersion: secret-propagator/v1\nx: ${'['.repeat(5_000)}${']'.repeat(5_000)}\n`],
    [
      'flow, just over the limit',
      `apiVersion: secret-propagator/v1\nx: ${'['.repeat(64)}${']'.repeat(64)}\n`,
    ],
    [
      'block',
      `apiVersion: secret-propagator/v1\n${Array.from({ length: 100 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')} x\n`,
    ],
  ])('refuses %s nesting, naming maxDepth', (_case, text) => {
    expect(() => parseRegistry(text)).toThrow(
      `registry inline nests deeper than ${REGISTRY_LIMITS.maxDepth} levels (REGISTRY_LIMITS.maxDepth)`,
    );
  });

  it('refuses a document over the size limit before parsing it, naming maxDocumentChars', () => {
    // given
    const text = `apiVersion: secret-propagator/v1\n#${'x'.repeat(REGISTRY_LIMITS.maxDocumentChars)}\n`;
    // when / then
    expect(() => parseRegistry(text)).toThrow(/over the limit of \d+ \(REGISTRY_LIMITS\.maxDocumentChars\)/);
  });
});

describe('secret-propagator validate on hostile YAML', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hostile-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 2 naming the limit for an alias bomb (it used to exit 1 on a ReferenceError)', async () => {
    // given
    const path = join(dir, 'bomb.yaml');
    await writeFile(path, ALIAS_BOMB);
    // when
    const run = await runCliInProcess(['validate', '--registry', path]);
    // then
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`registry ${path} expands its aliases more than 100 times`);
  });
});
