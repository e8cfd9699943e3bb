import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Aws,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
  aws_cloudtrail as cloudtrail,
  aws_eks as eks,
  aws_events as events,
  aws_events_targets as targets,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_lambda_event_sources as sources,
  aws_lambda_nodejs as nodejs,
  aws_logs as logs,
  aws_s3 as s3,
  aws_sqs as sqs,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import {
  AwsDetailType,
  CLOUDTRAIL_API_EVENTS,
  CLOUDTRAIL_SERVICE_EVENTS,
  SECRETS_MANAGER_EVENT_SOURCE,
  SECRETS_MANAGER_SOURCE,
} from '../../shared/events/aws.js';
import type { LoadedRegistry } from '../../shared/registry/load.js';
import { accessPlan, scheduleGroups } from './permissions.js';
import { createMonitoring } from './monitoring.js';
import { DEFAULT_FUNCTION_MEMORY_MB, functionNodeOptions } from '../../shared/runtime/node-options.js';
import { ESM_REQUIRE_BANNER } from '../../shared/runtime/esm-banner.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root: NodejsFunction bundles from here with the root lock file. */
export const PROJECT_ROOT = resolve(here, '..', '..');

/** The EMF namespace and service name the handlers publish under (Powertools). */
export const METRICS_NAMESPACE = 'SecretPropagator';
export const SERVICE_NAME = 'secret-propagator';

export interface SecretPropagatorStackProps extends StackProps {
  /** The validated registry; it is bundled with each function and drives IAM and schedules. */
  registry: LoadedRegistry;
  /** The registry file to bundle (REGISTRY_FILE in the functions). */
  registryFile: string;
  /**
   * Also match the CloudTrail-based Secrets Manager events ("AWS API Call via CloudTrail",
   * "AWS Service Event via CloudTrail"). Needs a trail with management events in the account.
   * @default false (the native "Secret Label Updated" event needs no CloudTrail)
   */
  cloudTrailEvents?: boolean;
  /** Create a trail for management write events (only with `cloudTrailEvents`). @default false */
  createTrail?: boolean;
  /** EKS access entries for the function role (cluster names from the registry): opt-in. @default [] */
  eksAccessEntries?: { clusterName: string; namespaces?: string[] }[];
  /** How long CloudWatch keeps function logs. @default logs.RetentionDays.ONE_MONTH */
  logRetention?: logs.RetentionDays;
  /** Receives before a work item goes to the dead-letter queue. @default 5 */
  maxReceiveCount?: number;
  /** Function timeout. @default Duration.minutes(5) */
  timeout?: Duration;
  /** Memory for each function, in MB; its V8 young generation is sized from it (functionNodeOptions). @default 1024 */
  memorySize?: number;
}

/**
 * The AWS deployment: three functions (event, schedule, fan-out worker), the EventBridge
 * rules that feed them, the work queue with its DLQ, least-privilege IAM derived from the
 * registry, alarms and a dashboard.
 */
export class SecretPropagatorStack extends Stack {
  readonly secretChanged: nodejs.NodejsFunction;
  readonly scheduled: nodejs.NodejsFunction;
  readonly applyWorker: nodejs.NodejsFunction;
  readonly workQueue: sqs.Queue;
  readonly workDlq: sqs.Queue;
  readonly eventDlq: sqs.Queue;
  readonly secretEventsRule: events.Rule;

  constructor(scope: Construct, id: string, props: SecretPropagatorStackProps) {
    super(scope, id, props);
    const { registry } = props.registry;
    const timeout = props.timeout ?? Duration.minutes(5);
    const memorySize = props.memorySize ?? DEFAULT_FUNCTION_MEMORY_MB;
    const registryFile = resolve(props.registryFile);

    // --- queues -----------------------------------------------------------------------
    const dlqProps = {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    } satisfies sqs.QueueProps;
    this.workDlq = new sqs.Queue(this, 'WorkDeadLetterQueue', dlqProps);
    this.eventDlq = new sqs.Queue(this, 'EventDeadLetterQueue', dlqProps);
    this.workQueue = new sqs.Queue(this, 'WorkQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Six times the worker timeout, as Lambda's SQS integration recommends.
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.workDlq, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });
    for (const dlq of [this.workDlq, this.eventDlq]) {
      Validations.of(dlq).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason:
          'This queue is itself a dead-letter queue; a DLQ of a DLQ would hide failures instead of alarming on them (DeadLetterAlarm*).',
      });
    }

    // --- functions --------------------------------------------------------------------
    const role = new iam.Role(this, 'FunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description:
        'secret-propagator functions: reads the registry secrets, writes cluster Secrets, publishes outcomes',
    });
    const logGroup = new logs.LogGroup(this, 'FunctionLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
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
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(logGroup.node.defaultChild as logs.CfnLogGroup)}.Arn>:*]`,
      reason: "Log streams are created at run time; the wildcard is limited to this stack's own log group.",
    });

    const environment: Record<string, string> = {
      REGISTRY_FILE: '/var/task/registry.yaml',
      WORK_QUEUE_URL: this.workQueue.queueUrl,
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: functionNodeOptions(memorySize),
    };

    const makeFunction = (id: string, entry: string, description: string, asyncInvoked: boolean) => {
      const fn = new nodejs.NodejsFunction(this, id, {
        // Async invocations (EventBridge) that still fail after Lambda's retries land in the event DLQ.
        ...(asyncInvoked ? { deadLetterQueue: this.eventDlq, retryAttempts: 2 } : {}),
        entry: join(PROJECT_ROOT, 'functions', 'aws', entry),
        handler: 'handler',
        projectRoot: PROJECT_ROOT,
        depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize,
        timeout,
        description,
        role,
        logGroup,
        tracing: lambda.Tracing.ACTIVE,
        environment,
        bundling: {
          format: nodejs.OutputFormat.ESM,
          target: 'node22',
          minify: true,
          sourceMap: true,
          mainFields: ['module', 'main'],
          banner: ESM_REQUIRE_BANNER,
          // Bundle the SDK clients we import (pinned by our lock file) rather than the runtime's copy.
          bundleAwsSDK: true,
          commandHooks: {
            beforeBundling: () => [],
            beforeInstall: () => [],
            afterBundling: (_inputDir: string, outputDir: string) => [
              `cp "${registryFile}" "${outputDir}/registry.yaml"`,
            ],
          },
        },
      });
      Validations.of(fn).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'Pinned to nodejs22.x on purpose: the project is built and tested on Node 22 (README.md, "Node 22, pinned"), and the runtime moves only with a tested upgrade.',
      });
      return fn;
    };
    this.secretChanged = makeFunction(
      'SecretChangedFunction',
      'secret-changed.ts',
      'Propagates Secrets Manager changes to the clusters in the registry',
      true,
    );
    this.scheduled = makeFunction(
      'ScheduledFunction',
      'scheduled.ts',
      'Scheduled reconcile and rotation of registry bindings',
      true,
    );
    this.applyWorker = makeFunction(
      'ApplyWorkerFunction',
      'apply-worker.ts',
      'Applies fan-out work items from the work queue',
      false,
    );
    this.workQueue.grantSendMessages(this.secretChanged);
    this.workQueue.grantSendMessages(this.scheduled);
    this.applyWorker.addEventSource(
      new sources.SqsEventSource(this.workQueue, {
        batchSize: 5,
        reportBatchItemFailures: true,
        maxBatchingWindow: Duration.seconds(1),
      }),
    );

    // --- least privilege from the registry ----------------------------------------------
    const plan = accessPlan(registry, {
      partition: Aws.PARTITION,
      region: Aws.REGION,
      account: Aws.ACCOUNT_ID,
    });
    if (plan.read.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ReadRegistrySecrets',
          actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          resources: plan.read,
        }),
      );
    }
    // Secrets Manager appends "-" and 6 random characters to every secret ARN, so a secret
    // named in the registry can only be granted through the documented "-??????" pattern.
    for (const pattern of new Set([...plan.read, ...plan.rotate, ...plan.write])) {
      if (!pattern.endsWith('-??????')) continue;
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${this.resolveFindingText(pattern)}]`,
        reason:
          'Secret ARN pattern for a registry secret given by name: "-??????" matches only the random suffix Secrets Manager appends.',
      });
    }
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
    if (plan.assumeRoles.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'AssumeSourceAndClusterRoles',
          actions: ['sts:AssumeRole'],
          resources: plan.assumeRoles,
        }),
      );
    }
    if (plan.eksClusters.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'DescribeRegistryClusters',
          actions: ['eks:DescribeCluster'],
          resources: plan.eksClusters,
        }),
      );
    }
    if (plan.outcomeBus !== undefined) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'PublishOutcomes',
          actions: ['events:PutEvents'],
          resources: [plan.outcomeBus],
        }),
      );
    }

    // --- EKS access entries (opt-in) -----------------------------------------------------
    for (const [index, entry] of (props.eksAccessEntries ?? []).entries()) {
      const namespaced = entry.namespaces !== undefined && entry.namespaces.length > 0;
      new eks.CfnAccessEntry(this, `EksAccessEntry${index}`, {
        clusterName: entry.clusterName,
        principalArn: role.roleArn,
        type: 'STANDARD',
        accessPolicies: [
          {
            // Edit lets the function write Secrets and patch workloads; namespaced when the registry limits namespaces.
            policyArn: `arn:${Aws.PARTITION}:eks::aws:cluster-access-policy/AmazonEKSEditPolicy`,
            accessScope:
              namespaced && entry.namespaces !== undefined
                ? { type: 'namespace', namespaces: entry.namespaces }
                : { type: 'cluster' },
          },
        ],
      });
    }

    // --- event rules ---------------------------------------------------------------------
    const eventTarget = new targets.LambdaFunction(this.secretChanged, {
      deadLetterQueue: this.eventDlq,
      retryAttempts: 4,
      maxEventAge: Duration.hours(2),
    });
    this.secretEventsRule = new events.Rule(this, 'SecretLabelUpdatedRule', {
      description: 'Secrets Manager native event: AWSCURRENT moved to a new version',
      eventPattern: {
        source: [SECRETS_MANAGER_SOURCE],
        detailType: [AwsDetailType.LabelUpdated],
        detail: { labelUpdated: ['AWSCURRENT'] },
      },
      targets: [eventTarget],
    });
    const useCloudTrail = props.cloudTrailEvents ?? false;
    if (useCloudTrail) {
      new events.Rule(this, 'CloudTrailApiCallRule', {
        description: 'Secrets Manager API calls that change a value (via CloudTrail)',
        eventPattern: {
          source: [SECRETS_MANAGER_SOURCE],
          detailType: [AwsDetailType.ApiCall],
          detail: { eventSource: [SECRETS_MANAGER_EVENT_SOURCE], eventName: [...CLOUDTRAIL_API_EVENTS] },
        },
        targets: [eventTarget],
      });
      new events.Rule(this, 'CloudTrailServiceEventRule', {
        description: 'Secrets Manager rotation outcomes (via CloudTrail)',
        eventPattern: {
          source: [SECRETS_MANAGER_SOURCE],
          detailType: [AwsDetailType.ServiceEvent],
          detail: { eventSource: [SECRETS_MANAGER_EVENT_SOURCE], eventName: [...CLOUDTRAIL_SERVICE_EVENTS] },
        },
        targets: [eventTarget],
      });
      if (props.createTrail ?? false) this.createTrail();
    }

    for (const [index, group] of scheduleGroups(registry).entries()) {
      new events.Rule(this, `Schedule${index}`, {
        description: `${group.kind} ${group.bindings.join(', ')}`.slice(0, 512),
        schedule: events.Schedule.expression(group.expression),
        targets: [
          new targets.LambdaFunction(this.scheduled, {
            event: events.RuleTargetInput.fromObject({ kind: group.kind, bindings: group.bindings }),
            deadLetterQueue: this.eventDlq,
            retryAttempts: 2,
          }),
        ],
      });
    }

    // --- example outcome rule: failures -> a queue teams can route anywhere -----------------
    const outcomeBus = registry.settings.outcomes.eventBus;
    const failures = new sqs.Queue(this, 'PropagationFailuresQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(failures).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'Example sink for outcome events that people or ticketing read; nothing consumes it automatically, so there is nothing to dead-letter.',
    });
    new events.Rule(this, 'ExampleOutcomeRule', {
      description:
        'Example: route "Secret Propagation Failed" outcome events to a queue (replace with SNS, chat or ticketing)',
      ...(outcomeBus === 'default'
        ? {}
        : {
            eventBus: events.EventBus.fromEventBusName(
              this,
              'OutcomeBus',
              outcomeBus.split('/').pop() ?? outcomeBus,
            ),
          }),
      eventPattern: { source: ['secret-propagator'], detailType: ['Secret Propagation Failed'] },
      targets: [new targets.SqsQueue(failures)],
    });

    createMonitoring(this, {
      functions: [this.secretChanged, this.scheduled, this.applyWorker],
      deadLetterQueues: [this.workDlq, this.eventDlq],
      namespace: METRICS_NAMESPACE,
      service: SERVICE_NAME,
    });

    new CfnOutput(this, 'WorkQueueUrl', { value: this.workQueue.queueUrl });
    new CfnOutput(this, 'FunctionRoleArn', {
      value: role.roleArn,
      description: 'Map this role in each cluster (EKS access entry or RBAC)',
    });
  }

  private createTrail(): void {
    const bucket = new s3.Bucket(this, 'TrailBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(90) }],
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'The bucket only receives CloudTrail deliveries; access logging of a trail bucket would only log the trail writer, which CloudTrail itself records.',
    });
    const trail = new cloudtrail.Trail(this, 'ManagementEventsTrail', {
      bucket: bucket as s3.IBucket,
      isMultiRegionTrail: false,
      includeGlobalServiceEvents: false,
      managementEvents: cloudtrail.ReadWriteType.WRITE_ONLY,
      sendToCloudWatchLogs: true,
      cloudWatchLogsRetention: logs.RetentionDays.ONE_MONTH,
    });
    Validations.of(trail).acknowledge({
      id: 'AwsSolutions-IAM5',
      reason:
        'The CDK-generated CloudTrail delivery role may only write into the streams of its own log group.',
    });
  }

  /** How cdk-nag prints a resource that contains tokens: pseudo parameters as <AWS::X>. */
  private resolveFindingText(pattern: string): string {
    return pattern
      .replaceAll(Aws.PARTITION, '<AWS::Partition>')
      .replaceAll(Aws.REGION, '<AWS::Region>')
      .replaceAll(Aws.ACCOUNT_ID, '<AWS::AccountId>');
  }
}
