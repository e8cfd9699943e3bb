import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, NestedStack, type Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { Construct } from 'constructs';
import { stringify } from 'yaml';
import { loadRegistryFile } from '../../shared/registry/load.js';
import { SecretPropagatorStack } from '../../infra/aws/stack.js';

// AWS limits, as documented by each service.
/** IAM: all inline policies of one role together, without whitespace. */
const IAM_INLINE_POLICIES_PER_ROLE = 10_240;
/** IAM: one managed policy, without whitespace. */
const IAM_MANAGED_POLICY = 6_144;
/** CloudFormation: resources in one stack (nested stacks count on their own). */
const CFN_RESOURCES_PER_STACK = 500;
/** CloudFormation: a template uploaded through S3, in bytes. */
const CFN_TEMPLATE_BYTES = 1_000_000;
/** Lambda: all environment variables of a function together (keys and values), in bytes. */
const LAMBDA_ENVIRONMENT_BYTES = 4_096;

const CLUSTERS = 1_500;
const REGIONS = ['eu-west-1', 'eu-central-1', 'us-east-1', 'us-west-2', 'ap-southeast-1'];
const ACCOUNT = '123456789012';

/** 1,500 EKS clusters over five regions, each limited to two namespaces, with fleet-wide and per-region bindings. */
function fleetRegistry(): string {
  const clusters = Array.from({ length: CLUSTERS }, (_, i) => {
    const region = REGIONS[i % REGIONS.length] ?? 'eu-west-1';
    const name = `prod-${region}-${String(i).padStart(4, '0')}`;
    return {
      name,
      labels: { env: i % 10 === 0 ? 'staging' : 'prod', region },
      auth: { type: 'eks', clusterName: name, region },
      namespaces: ['payments', 'platform'],
    };
  });
  const binding = (name: string, key: string, namespace: string, matchLabels: Record<string, string>) => ({
    name,
    source: 'aws-main',
    remoteRef: { key },
    dataFrom: [{ extract: {} }],
    target: { name, namespace, clusters: { matchLabels } },
    restart: { auto: true },
    schedule: { reconcile: 'rate(1 hour)' },
  });
  return stringify({
    apiVersion: 'secret-propagator/v1',
    clusters,
    sources: [{ name: 'aws-main', provider: 'aws', region: 'eu-west-1' }],
    bindings: [
      {
        ...binding('payments-db', 'prod/database', 'payments', {}),
        schedule: { reconcile: 'rate(1 hour)', rotate: 'rate(30 days)' },
        rotation: { generator: { type: 'password', length: 32, property: 'password' } },
        rollout: { waves: [{ matchLabels: { env: 'staging' } }, { matchLabels: { env: 'prod' } }] },
      },
      binding('platform-tls', 'prod/platform-tls', 'platform', {}),
      ...REGIONS.map((region) => binding(`regional-${region}`, `prod/${region}/api`, 'platform', { region })),
    ],
  });
}

/** Resolves CloudFormation intrinsics to the strings IAM and Lambda would see; other resources' ids become 100 characters (longer than any ARN or URL here). */
function resolve(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(resolve);
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::AccountId': ACCOUNT,
    'AWS::Region': 'eu-west-1',
    'AWS::URLSuffix': 'amazonaws.com',
  };
  if ('Ref' in record) return pseudo[String(record['Ref'])] ?? 'x'.repeat(100);
  if ('Fn::GetAtt' in record || 'Fn::ImportValue' in record) return 'x'.repeat(100);
  if ('Fn::Join' in record) {
    const [separator, parts] = record['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => String(resolve(p))).join(separator);
  }
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, resolve(v)]));
}

const sizeOf = (document: unknown) => JSON.stringify(resolve(document)).length;

interface Synthesized {
  main: SecretPropagatorStack;
  stacks: { name: string; template: Template; bytes: number }[];
}

let fleet: Synthesized;

beforeAll(() => {
  const folder = mkdtempSync(join(tmpdir(), 'fleet-limits-'));
  const registryFile = join(folder, 'registry.yaml');
  writeFileSync(registryFile, fleetRegistry());
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const main = new SecretPropagatorStack(app, 'Fleet', {
    registry: loadRegistryFile(registryFile),
    registryFile,
    env: { account: ACCOUNT, region: 'eu-west-1' },
    eksAccessEntries: 'all',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  // Synthesising the app runs cdk-nag over every stack; an unacknowledged finding fails it.
  const assembly = app.synth();
  const all = [main as Stack, ...main.accessEntryStacks].flatMap((stack) => [
    stack,
    ...stack.node.children.filter((c): c is NestedStack => c instanceof NestedStack),
  ]);
  fleet = {
    main,
    stacks: all.map((stack) => {
      const template = Template.fromStack(stack);
      return { name: stack.node.path, template, bytes: JSON.stringify(template.toJSON()).length };
    }),
  };
  expect(assembly.stacks.length).toBe(1 + REGIONS.length);
}, 240_000);

describe(`AWS stack at ${CLUSTERS} EKS clusters`, () => {
  it(`keeps every stack under ${CFN_RESOURCES_PER_STACK} resources and ${CFN_TEMPLATE_BYTES} bytes`, () => {
    // given
    const counts = fleet.stacks.map(({ name, template, bytes }) => ({
      name,
      resources: Object.keys(template.toJSON()['Resources'] as object).length,
      bytes,
    }));

    // when
    const over = counts.filter(
      (c) => c.resources >= CFN_RESOURCES_PER_STACK || c.bytes >= CFN_TEMPLATE_BYTES,
    );

    // then
    expect(over).toEqual([]);
    const main = counts.find((c) => c.name === 'Fleet');
    expect(main?.resources).toBeLessThan(100);
  });

  it('creates an access entry per role and cluster, in its region, at namespace scope only', () => {
    // given
    const entries = fleet.stacks.flatMap(({ name, template }) =>
      Object.values(template.findResources('AWS::EKS::AccessEntry')).map((e) => ({
        stack: name,
        ...(e as { Properties: { ClusterName: string; AccessPolicies: { AccessScope: { Type: string } }[] } })
          .Properties,
      })),
    );

    // when
    const scopes = new Set(entries.flatMap((e) => e.AccessPolicies.map((p) => p.AccessScope.Type)));
    const misplaced = entries.filter(
      (e) => !e.stack.includes(`EksAccess-${e.ClusterName.split('-').slice(1, -1).join('-')}`),
    );

    // then
    expect(entries).toHaveLength(CLUSTERS * 3);
    expect(scopes).toEqual(new Set(['namespace']));
    expect(misplaced).toEqual([]);
  });

  it(`keeps each role's inline policies within ${IAM_INLINE_POLICIES_PER_ROLE} characters and managed ones within ${IAM_MANAGED_POLICY}`, () => {
    // given
    const template = fleet.stacks[0]?.template;
    if (template === undefined) throw new Error('no main stack');
    const inline = new Map<string, number>();

    // when
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      const props = (policy as { Properties: { Roles: { Ref: string }[]; PolicyDocument: unknown } })
        .Properties;
      for (const role of props.Roles)
        inline.set(role.Ref, (inline.get(role.Ref) ?? 0) + sizeOf(props.PolicyDocument));
    }
    const managed = Object.values(template.findResources('AWS::IAM::ManagedPolicy')).map((p) =>
      sizeOf((p as { Properties: { PolicyDocument: unknown } }).Properties.PolicyDocument),
    );

    // then
    expect(inline.size).toBe(3);
    for (const size of inline.values()) expect(size).toBeLessThanOrEqual(IAM_INLINE_POLICIES_PER_ROLE);
    for (const size of managed) expect(size).toBeLessThanOrEqual(IAM_MANAGED_POLICY);
  });

  it('grants eks:DescribeCluster by region pattern and never "*" on a Secrets Manager or EKS action', () => {
    // given
    const statements = Object.values(
      fleet.stacks[0]?.template.findResources('AWS::IAM::Policy') ?? {},
    ).flatMap(
      (p) =>
        (
          p as {
            Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } };
          }
        ).Properties.PolicyDocument.Statement,
    );
    const actions = (s: { Action: string | string[] }) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
    const resources = (s: { Resource: unknown }) =>
      (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).map((r) => String(resolve(r)));

    // when
    const scoped = statements.filter((s) => actions(s).some((a) => /^(secretsmanager|eks):/.test(a)));
    const describe = statements.filter((s) => actions(s).includes('eks:DescribeCluster'));

    // then
    for (const s of scoped) expect(resources(s)).not.toContain('*');
    expect(describe).toHaveLength(3);
    for (const s of describe)
      expect(resources(s).sort()).toEqual(
        [...REGIONS].sort().map((region) => `arn:aws:eks:${region}:${ACCOUNT}:cluster/*`),
      );
  });

  it('acknowledges no finding wholesale: every IAM5 acknowledgement names its resource', () => {
    // given
    const acknowledged = Object.values(fleet.main.roles).flatMap((role: Construct) =>
      role.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) => Object.keys(m.data as Record<string, string>)),
    );

    // when
    const iam5 = acknowledged.filter((id) => id.includes('IAM5'));

    // then
    expect(iam5.length).toBeGreaterThan(0);
    for (const id of iam5) expect(id).toMatch(/IAM5\[Resource::.+\]$/);
  });

  it(`keeps every function's environment under ${LAMBDA_ENVIRONMENT_BYTES} bytes`, () => {
    // given
    const functions = Object.values(fleet.stacks[0]?.template.findResources('AWS::Lambda::Function') ?? {});

    // when
    const sizes = functions.map((f) => {
      const variables = resolve(
        (f as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment
          .Variables,
      ) as Record<string, string>;
      return Object.entries(variables).reduce(
        (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v),
        0,
      );
    });

    // then
    expect(sizes).toHaveLength(3);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(LAMBDA_ENVIRONMENT_BYTES);
  });
});
