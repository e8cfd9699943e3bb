import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { loadRegistryFile } from '../../shared/registry/load.js';
import { CLOUDTRAIL_API_EVENTS, CLOUDTRAIL_SERVICE_EVENTS } from '../../shared/events/aws.js';
import { PROJECT_ROOT, SecretPropagatorStack } from '../../infra/aws/stack.js';
import { DEFAULT_FUNCTION_MEMORY_MB, functionNodeOptions } from '../../shared/runtime/node-options.js';

const registryFile = join(PROJECT_ROOT, 'infra', 'aws', 'example-registry.yaml');

/** One synth per variant, shared by the assertions; bundling is skipped (no esbuild run, no Docker). */
function synth(
  props: {
    cloudTrailEvents?: boolean;
    createTrail?: boolean;
    eksAccessEntries?: { clusterName: string; namespaces?: string[] }[];
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
  return Template.fromStack(stack);
}

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

let base: Template;
let withCloudTrail: Template;

beforeAll(() => {
  base = synth();
  withCloudTrail = synth({
    cloudTrailEvents: true,
    createTrail: true,
    eksAccessEntries: [{ clusterName: 'prod-eu-1', namespaces: ['payments'] }],
  });
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

  it('never grants a secretsmanager action on "*" and reads only the registry secrets', () => {
    // given
    const all = statements(base);

    // when
    const secretStatements = all.filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));

    // then
    expect(secretStatements.length).toBeGreaterThan(0);
    for (const s of secretStatements) expect(resourcesOf(s)).not.toContain('*');
    const read = secretStatements.find((s) => s.Sid === 'ReadRegistrySecrets');
    expect(actionsOf(read ?? { Action: [], Resource: [] }).sort()).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
    const readResources = resourcesOf(read ?? { Action: [], Resource: [] })
      .map(resolveArn)
      .join(' ');
    expect(readResources).toContain(':secret:prod/database-??????');
    expect(readResources).toContain(':secret:clusters/onprem-1/token-??????');
    expect(readResources).toContain(
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/api-tls-AbC123',
    );
  });

  it('grants PutSecretValue only for generated rotation and RotateSecret only for store rotation', () => {
    // given
    const all = statements(base);

    // when
    const put = all.filter((s) => actionsOf(s).includes('secretsmanager:PutSecretValue'));
    const rotate = all.filter((s) => actionsOf(s).includes('secretsmanager:RotateSecret'));

    // then
    expect(put).toHaveLength(1);
    expect(
      resourcesOf(put[0] ?? { Action: [], Resource: [] })
        .map(resolveArn)
        .join(' '),
    ).toContain('prod/database-??????');
    expect(resourcesOf(put[0] ?? { Action: [], Resource: [] })).toHaveLength(1);
    expect(rotate).toHaveLength(1);
    expect(resourcesOf(rotate[0] ?? { Action: [], Resource: [] })).toEqual([
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/api-tls-AbC123',
    ]);
  });

  it('limits eks:DescribeCluster to the registry clusters and events:PutEvents to the outcome bus', () => {
    // given
    const all = statements(base);

    // when
    const describeCluster = all.filter((s) => actionsOf(s).includes('eks:DescribeCluster'));
    const putEvents = all.filter((s) => actionsOf(s).includes('events:PutEvents'));

    // then
    expect(describeCluster).toHaveLength(1);
    const clusters = resourcesOf(describeCluster[0] ?? { Action: [], Resource: [] }).map(resolveArn);
    expect(clusters).toHaveLength(2);
    expect(clusters.join(' ')).toContain(':cluster/prod-eu-1');
    expect(clusters.join(' ')).toContain(':cluster/staging-eu-1');
    expect(putEvents).toHaveLength(1);
    expect(
      resourcesOf(putEvents[0] ?? { Action: [], Resource: [] })
        .map(resolveArn)
        .join(' '),
    ).toContain(':event-bus/default');
  });

  it('bundles three arm64 nodejs22.x functions with the registry and the work queue in their environment', () => {
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
          WORK_QUEUE_URL: Match.anyValue(),
          NODE_OPTIONS: functionNodeOptions(DEFAULT_FUNCTION_MEMORY_MB),
        }),
      },
    });
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

  it('creates EKS access entries for the function role only when asked', () => {
    // given / when / then
    base.resourceCountIs('AWS::EKS::AccessEntry', 0);
    withCloudTrail.hasResourceProperties('AWS::EKS::AccessEntry', {
      ClusterName: 'prod-eu-1',
      AccessPolicies: [Match.objectLike({ AccessScope: { Type: 'namespace', Namespaces: ['payments'] } })],
    });
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
