import { join } from 'node:path';
import { App, NestedStack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { Construct } from 'constructs';
import { ConfigError } from '../../shared/core/errors.js';
import { loadRegistryFile, type LoadedRegistry } from '../../shared/registry/load.js';
import { CLOUDTRAIL_API_EVENTS, CLOUDTRAIL_SERVICE_EVENTS } from '../../shared/events/aws.js';
import { PROJECT_ROOT, SecretPropagatorStack } from '../../infra/aws/stack.js';
import { DEFAULT_FUNCTION_MEMORY_MB, functionNodeOptions } from '../../shared/runtime/node-options.js';

const registryFile = join(PROJECT_ROOT, 'infra', 'aws', 'example-registry.yaml');

/** One synth per variant, shared by the assertions; bundling is skipped (no esbuild run, no Docker). */
function synthStack(
  props: {
    cloudTrailEvents?: boolean;
    createTrail?: boolean;
    eksAccessEntries?: readonly string[] | 'all';
    memorySize?: number;
  } = {},
) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SecretPropagatorStack(app, 'Test', {
    registry: loadRegistryFile(registryFile),
    registryFile,
    env: { account: '123456789012', region: 'eu-west-1' },
    ...props,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  // Synthesising the app runs cdk-nag; an unacknowledged finding fails synthesis.
  app.synth();
  return { stack, template: Template.fromStack(stack) };
}
const synth = (props: Parameters<typeof synthStack>[0] = {}) => synthStack(props).template;

type Statement = { Action: string | string[]; Resource: unknown; Sid?: string };
function statements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (p) =>
      (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
        .Statement,
  );
}
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resourcesOf = (s: Statement): unknown[] =>
  Array.isArray(s.Resource) ? (s.Resource as unknown[]) : [s.Resource];
const resolveArn = (r: unknown) => JSON.stringify(r);
const NONE: Statement = { Action: [], Resource: [] };
/** The logical id prefixes of the three function roles. */
const ROLES = ['SecretChangedRole', 'ScheduledRole', 'ApplyWorkerRole'] as const;

/** The statements of the policies attached to the role whose logical id starts with `prefix`. */
function roleStatements(template: Template, prefix: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => {
    const props = (
      p as { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } } }
    ).Properties;
    return props.Roles.some((r) => r.Ref.startsWith(prefix)) ? props.PolicyDocument.Statement : [];
  });
}

let base: Template;
let baseStack: SecretPropagatorStack;
let withCloudTrail: Template;
let withCloudTrailStack: SecretPropagatorStack;

beforeAll(() => {
  ({ stack: baseStack, template: base } = synthStack());
  ({ stack: withCloudTrailStack, template: withCloudTrail } = synthStack({
    cloudTrailEvents: true,
    createTrail: true,
    eksAccessEntries: ['prod-eu-1'],
  }));
});

describe('AWS stack (example registry)', () => {
  it('matches exactly the native AWSCURRENT label event by default, and no CloudTrail events', () => {
    // given / when
    const rules = base.findResources('AWS::Events::Rule', { Properties: { EventPattern: Match.anyValue() } });

    // then
    const patterns = Object.values(rules).map(
      (r) => (r as { Properties: { EventPattern: Record<string, unknown> } }).Properties.EventPattern,
    );
    expect(patterns).toContainEqual({
      source: ['aws.secretsmanager'],
      'detail-type': ['Secret Label Updated'],
      detail: { labelUpdated: ['AWSCURRENT'] },
    });
    expect(JSON.stringify(patterns)).not.toContain('CloudTrail');
  });

  it('adds the CloudTrail API-call and service-event rules (and a trail) behind the flag', () => {
    // given / when / then
    withCloudTrail.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.secretsmanager'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: { eventSource: ['secretsmanager.amazonaws.com'], eventName: [...CLOUDTRAIL_API_EVENTS] },
      },
    });
    withCloudTrail.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'detail-type': ['AWS Service Event via CloudTrail'],
        detail: { eventName: [...CLOUDTRAIL_SERVICE_EVENTS] },
      },
    });
    withCloudTrail.resourceCountIs('AWS::CloudTrail::Trail', 1);
    base.resourceCountIs('AWS::CloudTrail::Trail', 0);
  });

  it('gives each function its own role', () => {
    // given
    const functions = Object.values(base.findResources('AWS::Lambda::Function')).map(
      (f) => (f as { Properties: { Role: { 'Fn::GetAtt': [string, string] } } }).Properties.Role,
    );

    // when
    const roleIds = functions.map((role) => role['Fn::GetAtt'][0]);

    // then
    expect(Object.keys(base.findResources('AWS::IAM::Role'))).toHaveLength(3);
    expect(new Set(roleIds).size).toBe(3);
    for (const prefix of ROLES) expect(roleIds.some((id) => id.startsWith(prefix))).toBe(true);
  });

  it('never grants a secretsmanager or eks action on "*", and every role reads only the registry secrets', () => {
    // given
    const all = statements(base);

    // when
    const scoped = all.filter((s) =>
      actionsOf(s).some((a) => a.startsWith('secretsmanager:') || a.startsWith('eks:')),
    );

    // then
    expect(scoped.length).toBeGreaterThan(0);
    for (const s of scoped) expect(resourcesOf(s)).not.toContain('*');
    for (const prefix of ROLES) {
      const read = roleStatements(base, prefix).filter((s) => s.Sid === 'ReadRegistrySecrets');
      expect(read).toHaveLength(1);
      expect(actionsOf(read[0] ?? NONE).sort()).toEqual([
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
      ]);
      const readResources = resourcesOf(read[0] ?? NONE).map(resolveArn);
      expect(readResources).toHaveLength(3);
      expect(readResources.join(' ')).toContain(':secret:prod/database-??????');
      expect(readResources.join(' ')).toContain(':secret:clusters/onprem-1/token-??????');
      expect(readResources.join(' ')).toContain(
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/api-tls-AbC123',
      );
    }
  });

  it('lets only the schedule role rotate or write versions, and only for the bindings that rotate', () => {
    // given
    const byRole = (prefix: string, action: string) =>
      roleStatements(base, prefix).filter((s) => actionsOf(s).includes(action));

    // when
    const put = byRole('ScheduledRole', 'secretsmanager:PutSecretValue');
    const rotate = byRole('ScheduledRole', 'secretsmanager:RotateSecret');

    // then
    expect(put).toHaveLength(1);
    expect(resourcesOf(put[0] ?? NONE).map(resolveArn)).toEqual([
      expect.stringContaining('prod/database-??????'),
    ]);
    expect(rotate).toHaveLength(1);
    expect(resourcesOf(rotate[0] ?? NONE)).toEqual([
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/api-tls-AbC123',
    ]);
    for (const prefix of ['SecretChangedRole', 'ApplyWorkerRole']) {
      expect(byRole(prefix, 'secretsmanager:PutSecretValue')).toEqual([]);
      expect(byRole(prefix, 'secretsmanager:RotateSecret')).toEqual([]);
    }
  });

  it('lets the coordinators send work and the worker only receive it', () => {
    // given
    const workQueue = Object.keys(base.findResources('AWS::SQS::Queue')).find((id) =>
      id.startsWith('WorkQueue'),
    );
    const onWorkQueue = (prefix: string, action: string) =>
      roleStatements(base, prefix).filter(
        (s) => actionsOf(s).includes(action) && JSON.stringify(s.Resource).includes(`"${workQueue}"`),
      );

    // when / then
    expect(workQueue).toBeDefined();
    expect(onWorkQueue('SecretChangedRole', 'sqs:SendMessage')).toHaveLength(1);
    expect(onWorkQueue('ScheduledRole', 'sqs:SendMessage')).toHaveLength(1);
    expect(onWorkQueue('ApplyWorkerRole', 'sqs:ReceiveMessage')).toHaveLength(1);
    const workerActions = roleStatements(base, 'ApplyWorkerRole').flatMap(actionsOf);
    expect(workerActions).not.toContain('sqs:SendMessage');
    for (const prefix of ['SecretChangedRole', 'ScheduledRole'])
      expect(onWorkQueue(prefix, 'sqs:ReceiveMessage')).toEqual([]);
  });

  it('limits eks:DescribeCluster to the registry clusters and events:PutEvents to the outcome bus, per role', () => {
    for (const prefix of ROLES) {
      // given
      const own = roleStatements(base, prefix);

      // when
      const describeCluster = own.filter((s) => actionsOf(s).includes('eks:DescribeCluster'));
      const putEvents = own.filter((s) => actionsOf(s).includes('events:PutEvents'));

      // then
      expect(describeCluster).toHaveLength(1);
      const clusters = resourcesOf(describeCluster[0] ?? NONE).map(resolveArn);
      expect(clusters).toHaveLength(2);
      expect(clusters.join(' ')).toContain(':cluster/prod-eu-1');
      expect(clusters.join(' ')).toContain(':cluster/staging-eu-1');
      expect(putEvents).toHaveLength(1);
      expect(
        resourcesOf(putEvents[0] ?? NONE)
          .map(resolveArn)
          .join(' '),
      ).toContain(':event-bus/default');
    }
  });

  it('bundles three arm64 nodejs22.x functions with the registry, and the queue URL where work is sent', () => {
    // given / when
    const functions = base.findResources('AWS::Lambda::Function');

    // then
    expect(Object.keys(functions)).toHaveLength(3);
    base.allResourcesProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      MemorySize: DEFAULT_FUNCTION_MEMORY_MB,
      Environment: {
        Variables: Match.objectLike({
          REGISTRY_FILE: '/var/task/registry.yaml',
          NODE_OPTIONS: functionNodeOptions(DEFAULT_FUNCTION_MEMORY_MB),
        }),
      },
    });
    const queueUrls = Object.values(functions).map((f) => {
      const props = (f as { Properties: { Description: string; Environment: { Variables: object } } })
        .Properties;
      return [props.Description, 'WORK_QUEUE_URL' in props.Environment.Variables] as const;
    });
    expect(queueUrls.sort()).toEqual([
      ['Applies fan-out work items from the work queue', false],
      ['Propagates Secrets Manager changes to the clusters in the registry', true],
      ['Scheduled reconcile and rotation of registry bindings', true],
    ]);
  });

  it('sizes the V8 young generation from the memory it gives the functions', () => {
    // given
    const small = synth({ memorySize: 512 });

    // when
    const flags = (template: Template) =>
      Object.values(template.findResources('AWS::Lambda::Function')).map(
        (f) =>
          (f as { Properties: { Environment: { Variables: Record<string, string> } } }).Properties.Environment
            .Variables['NODE_OPTIONS'],
      );

    // then
    small.allResourcesProperties('AWS::Lambda::Function', { MemorySize: 512 });
    expect(new Set(flags(small))).toEqual(new Set(['--enable-source-maps --max-semi-space-size=16']));
    expect(new Set(flags(base))).toEqual(new Set(['--enable-source-maps --max-semi-space-size=32']));
  });

  it('feeds the worker from the work queue with partial batch failures, and dead-letters after 5 receives', () => {
    // given / when / then
    base.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    base.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 5 },
      VisibilityTimeout: 1800,
    });
  });

  it('creates schedule rules from the registry with the binding names as input', () => {
    // given / when / then
    base.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [
        Match.objectLike({
          Input: JSON.stringify({ kind: 'reconcile', bindings: ['payments-db', 'api-tls'] }),
        }),
      ],
    });
    base.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(0 2 ? * SUN *)',
      Targets: [Match.objectLike({ Input: JSON.stringify({ kind: 'rotate', bindings: ['payments-db'] }) })],
    });
  });

  it('alarms on errors, throttles, dead letters and failed targets, and ships a dashboard', () => {
    // given
    const alarms = Object.values(base.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => (a as { Properties: { MetricName?: string; Namespace?: string } }).Properties,
    );

    // when
    const names = alarms.map((a) => `${a.Namespace ?? ''}/${a.MetricName ?? ''}`);

    // then
    expect(names.filter((n) => n === 'AWS/Lambda/Errors')).toHaveLength(3);
    expect(names.filter((n) => n === 'AWS/Lambda/Throttles')).toHaveLength(3);
    expect(names.filter((n) => n === 'AWS/SQS/ApproximateNumberOfMessagesVisible')).toHaveLength(2);
    base.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'SecretPropagator',
      MetricName: 'targets',
      Dimensions: Match.arrayWith([{ Name: 'outcome', Value: 'failed' }]),
    });
    base.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(base.findResources('AWS::CloudWatch::Dashboard'));
    for (const title of ['Propagations', 'Targets by outcome', 'Latency', 'Restarts'])
      expect(body).toContain(title);
  });

  it('ships an example outcome rule for "Secret Propagation Failed" events', () => {
    // given / when / then
    base.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['secret-propagator'], 'detail-type': ['Secret Propagation Failed'] },
    });
  });

  it('creates EKS access entries only when asked: one per role, scoped to the namespaces the registry writes', () => {
    // given
    const [regionStack, ...others] = withCloudTrailStack.accessEntryStacks;
    const nested = (regionStack?.node.children ?? []).filter(
      (c): c is NestedStack => c instanceof NestedStack,
    );

    // when
    const entries = nested.flatMap((n) =>
      Object.values(Template.fromStack(n).findResources('AWS::EKS::AccessEntry')).map(
        (e) =>
          (
            e as {
              Properties: {
                ClusterName: string;
                PrincipalArn: unknown;
                AccessPolicies: { PolicyArn: unknown; AccessScope: unknown }[];
              };
            }
          ).Properties,
      ),
    );

    // then
    expect(baseStack.accessEntryStacks).toEqual([]);
    base.resourceCountIs('AWS::EKS::AccessEntry', 0);
    expect(others).toEqual([]);
    expect(regionStack?.region).toBe('eu-west-1');
    expect(entries).toHaveLength(3);
    for (const entry of entries) {
      expect(entry.ClusterName).toBe('prod-eu-1');
      expect(entry.AccessPolicies).toEqual([
        {
          PolicyArn: {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, ':eks::aws:cluster-access-policy/AmazonEKSEditPolicy'],
            ],
          },
          AccessScope: { Type: 'namespace', Namespaces: ['payments'] },
        },
      ]);
    }
    const principals = entries.map((e) => JSON.stringify(e.PrincipalArn));
    for (const prefix of ROLES) expect(principals.filter((p) => p.includes(prefix))).toHaveLength(1);
  });

  it('keeps function logs for a bounded time', () => {
    // given / when / then
    base.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });
});

describe('AWS stack failure paths', () => {
  it('sends events that failed every retry to the event DLQ (rule targets and async invocations)', () => {
    // given
    const functions = Object.values(base.findResources('AWS::Lambda::Function')).map(
      (f) => (f as { Properties: { DeadLetterConfig?: unknown; Description?: string } }).Properties,
    );

    // when
    const withDlq = functions.filter((f) => f.DeadLetterConfig !== undefined).map((f) => f.Description);

    // then
    expect(withDlq.sort()).toEqual([
      'Propagates Secrets Manager changes to the clusters in the registry',
      'Scheduled reconcile and rotation of registry bindings',
    ]);
    base.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'detail-type': ['Secret Label Updated'] },
      Targets: [
        Match.objectLike({
          DeadLetterConfig: { Arn: Match.anyValue() },
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 4 }),
        }),
      ],
    });
  });
});

describe('AWS stack: registry keys that would widen IAM', () => {
  /** The example registry with `key` as the payments-db binding's key (past the loader, as a hand-built registry would be). */
  function registryWithKey(key: string, allowWildcard?: boolean): LoadedRegistry {
    const loaded = loadRegistryFile(registryFile);
    const [binding] = loaded.registry.bindings;
    if (binding?.remoteRef === undefined)
      throw new Error('the example registry changed: payments-db has no remoteRef');
    binding.remoteRef.key = key;
    if (allowWildcard !== undefined) binding.allowWildcard = allowWildcard;
    return loaded;
  }

  it('refuses a wildcard key at synth with the path of the key', () => {
    // given
    const registry = () => registryWithKey('*');

    // when
    const build = () =>
      new SecretPropagatorStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Wild', {
        registry: registry(),
        registryFile,
      });

    // then
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(/bindings\[0\]\.remoteRef\.key: "\*" holds an IAM wildcard/);
  });

  it('synthesizes an opted-in wildcard cdk-nag clean, acknowledged for that binding alone', () => {
    // given
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new SecretPropagatorStack(app, 'Opted', {
      registry: registryWithKey('prod/*', true),
      registryFile,
      env: { account: '123456789012', region: 'eu-west-1' },
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    // when
    app.synth();
    const acknowledged = (role: Construct) =>
      role.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) => Object.entries(m.data as Record<string, string>));

    // then
    for (const role of Object.values(stack.roles)) {
      const wildcard = acknowledged(role).filter(([id]) => id.includes('prod/*'));
      expect(wildcard).toHaveLength(1);
      expect(wildcard[0]?.[1]).toContain('Binding "payments-db" sets allowWildcard: true');
      // Nothing else is acknowledged for secrets: "-??????" names need no acknowledgement.
      expect(acknowledged(role).filter(([id]) => id.includes('secretsmanager'))).toHaveLength(1);
    }
  });
});
