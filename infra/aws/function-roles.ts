import {
  Aws,
  PhysicalName,
  type Stack,
  Validations,
  aws_iam as iam,
  type aws_logs as logs,
} from 'aws-cdk-lib';
import type { AccessPlan } from './permissions.js';

/** One IAM role per function, each holding only what that function calls. */
export interface FunctionRoles {
  /** EventBridge secret events: reads, applies small changes itself, enqueues larger ones, publishes outcomes. */
  secretChanged: iam.Role;
  /** Schedules: what secretChanged does, plus RotateSecret / PutSecretValue for the bindings that rotate. */
  scheduled: iam.Role;
  /** SQS fan-out worker: reads, writes clusters, publishes outcomes; receives from the queue (event source). */
  applyWorker: iam.Role;
}

const ROLE_DESCRIPTIONS: Record<keyof FunctionRoles, string> = {
  secretChanged:
    'secret-propagator secret-changed: reads registry secrets, writes clusters, enqueues fan-out, publishes outcomes',
  scheduled:
    'secret-propagator scheduled: reconcile and rotation; the only role that may rotate or write secret versions',
  applyWorker: 'secret-propagator apply-worker: reads registry secrets, writes clusters, publishes outcomes',
};

/**
 * The three function roles. Every function reads the registry secrets (and assumes source
 * and cluster roles), writes clusters (the coordinators apply changes of up to
 * `settings.fanOut.batchSize` targets, and deletions, themselves) and publishes outcome
 * events; only `scheduled` rotates or writes versions, and only for bindings that rotate.
 * Queue rights are granted where the queue is wired (send: coordinators; receive: worker).
 */
export function createFunctionRoles(stack: Stack, plan: AccessPlan, logGroup: logs.LogGroup): FunctionRoles {
  const make = (name: keyof FunctionRoles, id: string): iam.Role => {
    const role = new iam.Role(stack, id, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: ROLE_DESCRIPTIONS[name],
      // A generated name lets the per-region EKS access entry stacks name the role as principal.
      roleName: PhysicalName.GENERATE_IF_NEEDED,
    });
    grantBasics(stack, role, logGroup);
    grantReadAndClusters(role, plan);
    return role;
  };
  const roles: FunctionRoles = {
    secretChanged: make('secretChanged', 'SecretChangedRole'),
    scheduled: make('scheduled', 'ScheduledRole'),
    applyWorker: make('applyWorker', 'ApplyWorkerRole'),
  };
  grantRotation(roles.scheduled, plan);
  return roles;
}

/** Logs into the stack's own log group and X-Ray traces. */
function grantBasics(stack: Stack, role: iam.Role, logGroup: logs.LogGroup): void {
  // Written by hand instead of AWSLambdaBasicExecutionRole so the role can only write its own log group.
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn, `${logGroup.logGroupArn}:*`],
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
      resources: ['*'],
    }),
  );
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions.',
  });
  Validations.of(role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(logGroup.node.defaultChild as logs.CfnLogGroup)}.Arn>:*]`,
    reason: "Log streams are created at run time; the wildcard is limited to this stack's own log group.",
  });
}

/** What every function does: read the registry secrets, reach the clusters, publish outcomes. */
function grantReadAndClusters(role: iam.Role, plan: AccessPlan): void {
  const add = (sid: string, actions: string[], resources: string[]) => {
    if (resources.length > 0) role.addToPolicy(new iam.PolicyStatement({ sid, actions, resources }));
  };
  add('ReadRegistrySecrets', ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], plan.read);
  add('AssumeSourceAndClusterRoles', ['sts:AssumeRole'], plan.assumeRoles);
  add('DescribeRegistryClusters', ['eks:DescribeCluster'], plan.eksClusters);
  add('PublishOutcomes', ['events:PutEvents'], plan.outcomeBus === undefined ? [] : [plan.outcomeBus]);
  if (plan.eksByRegion) {
    for (const pattern of plan.eksClusters) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${findingText(pattern)}]`,
        reason: `eks:DescribeCluster only (endpoint and CA of a cluster), in a region of the registry's ${plan.eksClusterCount} EKS clusters: their ARNs one by one would exceed IAM's 10,240-character limit for a role's inline policies.`,
      });
    }
  }
  acknowledgeWildcards(role, plan);
}

/** Each opted-in wildcard key: its own acknowledgement, naming the binding that asked for it. */
function acknowledgeWildcards(role: iam.Role, plan: AccessPlan): void {
  for (const { binding, patterns } of plan.wildcards) {
    for (const pattern of patterns) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${findingText(pattern)}]`,
        reason: `Binding "${binding}" sets allowWildcard: true, accepting that its key grants every secret matching ${pattern}.`,
      });
    }
  }
}

/** Rotation rights: the schedule function only, and only the bindings with a rotate schedule. */
function grantRotation(role: iam.Role, plan: AccessPlan): void {
  if (plan.rotate.length > 0) {
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RotateScheduledSecrets',
        actions: ['secretsmanager:RotateSecret'],
        resources: plan.rotate,
      }),
    );
  }
  if (plan.write.length > 0) {
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteGeneratedVersions',
        actions: ['secretsmanager:PutSecretValue'],
        resources: plan.write,
      }),
    );
  }
}

/** How cdk-nag prints a resource that contains tokens: pseudo parameters as <AWS::X>. */
function findingText(pattern: string): string {
  return pattern
    .replaceAll(Aws.PARTITION, '<AWS::Partition>')
    .replaceAll(Aws.REGION, '<AWS::Region>')
    .replaceAll(Aws.ACCOUNT_ID, '<AWS::AccountId>');
}
