import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { SecretValue } from '../../shared/core/ports.js';
import { convertEso, readManifests } from '../../shared/eso/index.js';
import { bindingSchema, registrySchema } from '../../shared/registry/schema.js';
import {
  readKey,
  renderSecret,
  requiredReads,
  validateSecret,
  type RenderedSecret,
} from '../../shared/template/index.js';
import { makeChain, makeSshKey } from '../template/certs.js';

/**
 * Acceptance: for typical ESO manifests, import-eso + renderSecret produce the Secret
 * ESO renders for the same store data (fixtures in test/fixtures/eso, see its README).
 */

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'eso');
const NOW = new Date();
const chain = makeChain(NOW);
const sshKey = makeSshKey();
const placeholders: Record<string, string> = {
  TLS_CERT: chain.leaf.cert,
  TLS_CA: chain.ca.cert,
  TLS_KEY: chain.leaf.key,
  TLS_CERT_JSON: JSON.stringify(chain.leaf.cert),
  TLS_CA_JSON: JSON.stringify(chain.ca.cert),
  TLS_KEY_JSON: JSON.stringify(chain.leaf.key),
  SSH_KEY: sshKey,
  SSH_KEY_B64: Buffer.from(sshKey).toString('base64'),
};

function substitute<T>(value: T): T {
  if (typeof value === 'string')
    return value.replace(/\$\{([A-Z_0-9]+)\}/g, (m, name: string) => placeholders[name] ?? m) as T;
  if (Array.isArray(value)) return value.map(substitute) as T;
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v)])) as T;
  return value;
}

interface Expected {
  bindings: {
    binding: string;
    target: { name: string; namespace: string };
    secret: {
      type: string;
      stringData: Record<string, string>;
      labels: Record<string, string>;
      annotations: Record<string, string>;
    };
  }[];
  problems: { severity: string; resource: string; match: string }[];
}

function storeValues(store: Record<string, string>): Map<string, SecretValue> {
  const values = new Map<string, SecretValue>();
  for (const [ref, text] of Object.entries(store)) {
    const [key = ref, version] = ref.split('@');
    values.set(readKey(version === undefined ? { key } : { key, version }), {
      versionId: version ?? 'current',
      bytes: new TextEncoder().encode(text),
    });
  }
  return values;
}

const asText = (secret: RenderedSecret) =>
  Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, new TextDecoder().decode(v)]));

const cases = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

describe('import-eso + renderSecret render what ESO renders', () => {
  it.each(cases)('%s', async (name) => {
    // given
    const dir = join(FIXTURES, name);
    const manifests = await readManifests([join(dir, 'manifests.yaml')]);
    const store = substitute(
      (parse(readFileSync(join(dir, 'store.yaml'), 'utf8')) ?? {}) as Record<string, string>,
    );
    const expected = substitute(parse(readFileSync(join(dir, 'expected.yaml'), 'utf8')) as Expected);
    const values = storeValues(store);

    // when
    const { registry, problems } = convertEso(manifests);
    const parsed = registrySchema.parse(registry);

    // then: the reported problems
    for (const want of expected.problems) {
      expect(problems).toContainEqual(
        expect.objectContaining({
          severity: want.severity,
          resource: want.resource,
          message: expect.stringContaining(want.match),
        }),
      );
    }
    expect(problems.filter((p) => p.severity === 'skipped')).toHaveLength(
      expected.problems.filter((p) => p.severity === 'skipped').length,
    );

    // then: the Secrets
    expect(parsed.bindings.map((b) => b.name)).toEqual(expected.bindings.map((b) => b.binding));
    for (const want of expected.bindings) {
      const binding = bindingSchema.parse(parsed.bindings.find((b) => b.name === want.binding));
      expect({ name: binding.target.name, namespace: binding.target.namespace }).toEqual(want.target);
      expect(binding.target.clusters).toEqual({ matchLabels: {} });
      for (const read of requiredReads(binding)) expect(values.has(readKey(read))).toBe(true);
      const rendered = renderSecret(binding, values);
      expect(rendered.type).toBe(want.secret.type);
      expect(asText(rendered)).toEqual(want.secret.stringData);
      expect(rendered.labels).toEqual(want.secret.labels);
      expect(rendered.annotations).toEqual(want.secret.annotations);
      expect(() => validateSecret(binding, rendered, NOW)).not.toThrow();
    }
  });

  it('every fixture folder has the three files', () => {
    for (const name of cases) {
      for (const file of ['manifests.yaml', 'store.yaml', 'expected.yaml'])
        expect(existsSync(join(FIXTURES, name, file))).toBe(true);
    }
  });
});
