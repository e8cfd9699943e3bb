import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { runCliInProcess } from '../cli/run-cli.js';
import { ConfigError } from '../../shared/core/errors.js';
import { parseRegistry } from '../../shared/registry/load.js';
import { wildcardKeyReason } from '../../shared/registry/wildcard.js';

/** A registry reading `keys` from an AWS source, one binding per key (the third binding is `bindings[2]`). */
function registryWith(keys: string[], extra: Record<string, unknown> = {}, provider = 'aws'): string {
  return stringify({
    apiVersion: 'secret-propagator/v1',
    clusters: [{ name: 'prod-1', auth: { type: 'eks', clusterName: 'prod-1', region: 'eu-west-1' } }],
    sources: [
      provider === 'aws'
        ? { name: 'main', provider: 'aws', region: 'eu-west-1' }
        : { name: 'main', provider: 'local', path: './store.json' },
    ],
    bindings: keys.map((key, i) => ({
      name: `binding-${i}`,
      source: 'main',
      remoteRef: { key },
      target: { name: `secret-${i}`, namespace: 'payments', clusters: { names: ['prod-1'] } },
      ...(i === keys.length - 1 ? extra : {}),
    })),
  });
}

function problemsOf(text: string): readonly string[] {
  try {
    parseRegistry(text);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  return [];
}

describe('registry keys that would widen IAM', () => {
  it.each([
    ['*', 'bindings[2].remoteRef.key: "*" holds an IAM wildcard'],
    ['prod/*', 'bindings[2].remoteRef.key: "prod/*" holds an IAM wildcard'],
    ['prod/db-??????', 'bindings[2].remoteRef.key: "prod/db-??????" holds an IAM wildcard'],
    [
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:*',
      'bindings[2].remoteRef.key: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:*" holds an IAM wildcard',
    ],
    [
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:-',
      'bindings[2].remoteRef.key: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:-" names no secret',
    ],
  ])('refuses %s and names the path and the opt-in', (key, expected) => {
    // given
    const text = registryWith(['prod/a', 'prod/b', key]);

    // when
    const problems = problemsOf(text);

    // then
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(expected);
    expect(problems[0]).toContain('bindings[2].allowWildcard: true');
  });

  it('finds wildcards in data[].remoteRef.key, dataFrom[].extract.key and cluster token keys too', () => {
    // given
    const text = stringify({
      apiVersion: 'secret-propagator/v1',
      clusters: [
        {
          name: 'onprem',
          server: 'https://127.0.0.1:6443',
          auth: { type: 'token', tokenFrom: { source: 'main', key: 'tokens/*' } },
        },
      ],
      sources: [{ name: 'main', provider: 'aws', region: 'eu-west-1' }],
      bindings: [
        {
          name: 'mixed',
          source: 'main',
          data: [{ secretKey: 'a', remoteRef: { key: 'apps/*', property: 'a' } }],
          dataFrom: [{ extract: { key: 'other/?' } }],
          target: { name: 'mixed', namespace: 'payments', clusters: { names: ['onprem'] } },
        },
      ],
    });

    // when
    const problems = problemsOf(text).map((p) => p.split(':')[0]);

    // then
    expect(problems).toEqual([
      'bindings[0].data[0].remoteRef.key',
      'bindings[0].dataFrom[0].extract.key',
      'clusters[0].auth.tokenFrom.key',
    ]);
  });

  it('accepts a wildcard when the binding opts in with allowWildcard: true, and only for that binding', () => {
    // given
    const optedIn = registryWith(['prod/a', 'prod/*'], { allowWildcard: true });
    const optInOnAnotherBinding = registryWith(['prod/*', 'prod/a'], { allowWildcard: true });

    // when / then
    expect(problemsOf(optedIn)).toEqual([]);
    expect(parseRegistry(optedIn).registry.bindings[1]?.allowWildcard).toBe(true);
    expect(problemsOf(optInOnAnotherBinding)).toEqual([expect.stringContaining('bindings[0].remoteRef.key')]);
  });

  it('leaves keys of other providers alone, and names of one secret pass', () => {
    // given / when / then
    expect(problemsOf(registryWith(['*'], {}, 'local'))).toEqual([]);
    expect(wildcardKeyReason('prod/database')).toBeUndefined();
    expect(
      wildcardKeyReason('arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbC123'),
    ).toBeUndefined();
  });

  it('makes `validate` exit 2 with the path of the key and the opt-in', async () => {
    // given
    const path = join(mkdtempSync(join(tmpdir(), 'wildcard-')), 'registry.yaml');
    writeFileSync(path, registryWith(['prod/a', 'prod/b', '*']));

    // when
    const run = await runCliInProcess(['validate', '--registry', path]);

    // then
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`registry ${path} is inconsistent`);
    expect(run.stderr).toContain('bindings[2].remoteRef.key: "*" holds an IAM wildcard');
    expect(run.stderr).toContain('bindings[2].allowWildcard: true');
  });
});
