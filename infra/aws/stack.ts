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
  aws_events as events,
  aws_events_targets as targets,
  type aws_iam as iam,
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
import { accessEntrySpecs, createAccessEntryStacks } from './access-entries.js';
import { createFunctionRoles, type FunctionRoles } from './function-roles.js';
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
  /**
   * EKS access entries for the function roles: registry cluster names, or `all` for every EKS
   * cluster of the registry. Each entry is scoped to the namespaces the registry's bindings
   * write in that cluster; they go into one stack per region (`accessEntryStacks`). @default []
   */
  eksAccessEntries?: readonly string[] | 'all';
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
  /** One role per function, each with only what that function calls. */
  readonly roles: FunctionRoles;
  /** The per-region stacks holding the EKS access entries (none unless `eksAccessEntries`). */
  readonly accessEntryStacks: Stack[];

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

    // --- functions, each with its own role ------------------------------------------------
    const logGroup = new logs.LogGroup(this, 'FunctionLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const plan = accessPlan(registry, {
      partition: Aws.PARTITION,
      region: Aws.REGION,
      account: Aws.ACCOUNT_ID,
    });
    this.roles = createFunctionRoles(this, plan, logGroup);

    const environment: Record<string, string> = {
      REGISTRY_FILE: '/var/task/registry.yaml',
      WORK_QUEUE_URL: this.workQueue.queueUrl,
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: functionNodeOptions(memorySize),
    };

    const makeFunction = (
      id: string,
      entry: string,
      description: string,
      options: { asyncInvoked: boolean; role: iam.IRole; environment: Record<string, string> },
    ) => {
      const { asyncInvoked, role } = options;
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
        environment: options.environment,
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
      { asyncInvoked: true, role: this.roles.secretChanged, environment },
    );
    this.scheduled = makeFunction(
      'ScheduledFunction',
      'scheduled.ts',
      'Scheduled reconcile and rotation of registry bindings',
      { asyncInvoked: true, role: this.roles.scheduled, environment },
    );
    // The worker never enqueues (work items apply without fan-out), so it gets no queue URL to send to.
    const { WORK_QUEUE_URL: _sendOnly, ...workerEnvironment } = environment;
    this.applyWorker = makeFunction(
      'ApplyWorkerFunction',
      'apply-worker.ts',
      'Applies fan-out work items from the work queue',
      { asyncInvoked: false, role: this.roles.applyWorker, environment: workerEnvironment },
    );
    this.workQueue.grantSendMessages(this.roles.secretChanged);
    this.workQueue.grantSendMessages(this.roles.scheduled);
    this.applyWorker.addEventSource(
      new sources.SqsEventSource(this.workQueue, {
        batchSize: 5,
        reportBatchItemFailures: true,
        maxBatchingWindow: Duration.seconds(1),
      }),
    );

    // --- EKS access entries (opt-in): per region, chunked into nested stacks ---------------
    const wanted = props.eksAccessEntries ?? [];
    this.accessEntryStacks =
      wanted.length === 0
        ? []
        : createAccessEntryStacks(scope, this, accessEntrySpecs(registry, wanted), [
            this.roles.secretChanged,
            this.roles.scheduled,
            this.roles.applyWorker,
          ]);

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
    for (const [name, role] of Object.entries(this.roles) as [keyof FunctionRoles, iam.Role][]) {
      new CfnOutput(this, `${name[0]?.toUpperCase() ?? ''}${name.slice(1)}RoleArn`, {
        value: role.roleArn,
        description: `Role of the ${name} function: map it in each cluster (EKS access entry or RBAC)`,
      });
    }
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
}
