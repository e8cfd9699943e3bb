// A namespace import lets esbuild drop what the schema does not use (zod's locales alone are ~300 KB).
import * as z from 'zod';
import { WORKLOAD_KINDS } from '../core/ports.js';
import { DURATION_PATTERN } from '../core/duration.js';
import {
  caDataProblem,
  dns1123LabelProblem,
  dns1123SubdomainProblem,
  durationRangeProblem,
  scheduleProblem,
} from './grammar.js';

/**
 * The registry: the public contract (docs/architecture.md, "The registry"). Extend it, never rename.
 * Objects are strict so a typo (`namepsace`) is an error naming its path, not a silent default.
 */

const name = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a lowercase DNS name (a-z, 0-9, "-", ".")');
const labels = z.record(z.string(), z.string());

/** A string that must also pass one of grammar.ts's checks (the message is the problem). */
function grammar(check: (value: string) => string | undefined) {
  return z.string().superRefine((value, ctx) => {
    const problem = check(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });
}
const namespaceName = grammar(dns1123LabelProblem);
const secretName = grammar(dns1123SubdomainProblem);
const schedule = grammar(scheduleProblem);
const caData = grammar(caDataProblem);
/** A Go-style duration as used by ESO and Kubernetes: `90s`, `15m`, `24h`, `1h30m`. */
export const duration = z.string().regex(DURATION_PATTERN, 'must be a duration such as 30s, 15m, 24h or 7d');

/** A value kept in a source: a cluster token or kubeconfig held in a secret store. */
const secretKeySelector = z.strictObject({
  source: z.string().min(1),
  key: z.string().min(1),
  property: z.string().min(1).optional(),
});

export const clusterAuthSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('eks'),
    clusterName: z.string().min(1),
    region: z.string().min(1),
    /** Role to assume before presigning the token. */
    roleArn: z.string().min(1).optional(),
  }),
  z.strictObject({
    type: z.literal('aks'),
    /** Entra ID scope of the AKS server application. @default "6dae42f8-4368-4678-94ff-3960e28e3630/.default" */
    scope: z.string().min(1).optional(),
  }),
  z.strictObject({ type: z.literal('gke') }),
  z.strictObject({ type: z.literal('token'), tokenFrom: secretKeySelector }),
  z.strictObject({
    type: z.literal('kubeconfig'),
    kubeconfigFrom: secretKeySelector,
    /** Context to use; @default the kubeconfig's current-context */
    context: z.string().min(1).optional(),
  }),
]);

export const clusterSchema = z.strictObject({
  name,
  labels: labels.default({}),
  /** API server URL; optional for eks (DescribeCluster) and kubeconfig auth. */
  server: z
    .url({ protocol: /^https$/, error: 'must be an https:// URL (TLS is always verified)' })
    .optional(),
  /** Base64 PEM of the cluster CA. */
  caData: caData.optional(),
  auth: clusterAuthSchema,
  /** Namespaces bindings may write to; kube-system must be listed explicitly. */
  namespaces: z.array(namespaceName).optional(),
});

const awsSource = z.strictObject({
  name,
  provider: z.literal('aws'),
  region: z.string().min(1),
  /** Role to assume for reads. */
  roleArn: z.string().min(1).optional(),
  /** Endpoint override (tests, VPC endpoints). */
  endpoint: z.url().optional(),
});
const azureSource = z.strictObject({
  name,
  provider: z.literal('azure'),
  /** https://<vault>.vault.azure.net */
  vaultUrl: z.url(),
});
const gcpSource = z.strictObject({
  name,
  provider: z.literal('gcp'),
  project: z.string().min(1),
  /** Notifications name secrets by project number; give it so events match bindings. */
  projectNumber: z.string().regex(/^\d+$/).optional(),
  /** Endpoint override (tests, private service connect). */
  endpoint: z.url().optional(),
});
const vaultSource = z.strictObject({
  name,
  provider: z.literal('vault'),
  address: z.url(),
  /** KV v2 mount. @default "secret" */
  mount: z.string().min(1).default('secret'),
  namespace: z.string().min(1).optional(),
  caData: caData.optional(),
  auth: z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('token'), tokenEnv: z.string().min(1).default('VAULT_TOKEN') }),
    z.strictObject({
      type: z.literal('kubernetes'),
      role: z.string().min(1),
      mountPath: z.string().min(1).default('kubernetes'),
      tokenPath: z.string().min(1).default('/var/run/secrets/kubernetes.io/serviceaccount/token'),
    }),
    z.strictObject({
      type: z.literal('approle'),
      roleId: z.string().min(1),
      secretIdEnv: z.string().min(1).default('VAULT_SECRET_ID'),
      mountPath: z.string().min(1).default('approle'),
    }),
  ]),
  /** How often the scheduled poll reads version metadata. @default "rate(5 minutes)" */
  poll: schedule.default('rate(5 minutes)'),
});
const localSource = z.strictObject({
  name,
  provider: z.literal('local'),
  /** A JSON/YAML file or a folder of them, relative to the registry file. */
  path: z.string().min(1),
});

export const sourceSchema = z.discriminatedUnion('provider', [
  awsSource,
  azureSource,
  gcpSource,
  vaultSource,
  localSource,
]);

export const decodingStrategy = z.enum(['None', 'Base64', 'Base64URL', 'Auto']);

const remoteRef = z.strictObject({
  /** ARN or name (aws), secret name (azure), projects/p/secrets/s or s (gcp), path (vault), name (local). */
  key: z.string().min(1),
  /** Pin a version instead of following the current one. */
  version: z.string().min(1).optional(),
  /** A JSON property (dot path) of the secret value. */
  property: z.string().min(1).optional(),
  decodingStrategy: decodingStrategy.optional(),
});

const dataEntry = z.strictObject({
  secretKey: z.string().regex(/^[-._a-zA-Z0-9]+$/, 'must be a valid Secret data key ([-._a-zA-Z0-9]+)'),
  /** Shorthand for `remoteRef.property` with the binding's `remoteRef.key`. */
  property: z.string().min(1).optional(),
  remoteRef: remoteRef.partial({ key: true }).optional(),
});

const dataFromEntry = z.strictObject({
  extract: remoteRef.partial({ key: true }),
});

const clusterSelector = z.union([
  z.strictObject({ matchLabels: labels }),
  z.strictObject({ names: z.array(z.string().min(1)).min(1) }),
]);

export const templateSchema = z.strictObject({
  type: z.string().min(1).optional(),
  engineVersion: z.literal('v2').optional(),
  metadata: z.strictObject({ labels: labels.optional(), annotations: labels.optional() }).optional(),
  data: z.record(z.string(), z.string()).optional(),
  /** Replace (default) renders only the template's keys; Merge adds them to the fetched data. */
  mergePolicy: z.enum(['Replace', 'Merge']).optional(),
});

const workloadRef = z.strictObject({ kind: z.enum(WORKLOAD_KINDS), name: z.string().min(1) });

export const restartSchema = z.strictObject({
  /** Discover workloads that reference the Secret (env, envFrom, volumes, projected, imagePullSecrets). */
  auto: z.boolean().optional(),
  workloads: z.array(workloadRef).optional(),
  selector: z.strictObject({ matchLabels: labels }).optional(),
  /** Kinds considered by `auto` and `selector`. @default all three */
  kinds: z.array(z.enum(WORKLOAD_KINDS)).optional(),
});

export const generatorSchema = z.strictObject({
  type: z.literal('password'),
  length: z.number().int().min(8).max(4096).default(32),
  /** Put the generated value under this JSON property (others kept). */
  property: z.string().min(1).optional(),
  symbols: z.boolean().default(true),
});

/** Vault dynamic secrets: every read of `<mount>/creds/<role>` issues a new credential with a lease. */
export const dynamicSchema = z.strictObject({
  path: z.string().regex(/^[^/\s]+(\/[^/\s]+)*\/creds\/[^/\s]+$/, 'must be <mount>/creds/<role>'),
  /** One credential per target cluster (each revocable on its own) instead of one per rollout. @default false */
  perTarget: z.boolean().optional(),
  /** Re-issue at this fraction of the lease, 0.1 to 0.95. @default 0.67 */
  renewAt: z.number().min(0.1).max(0.95).optional(),
  /** Re-issue at the latest this long after the credential was issued (ESO's refreshInterval). */
  renewAfter: duration.optional(),
  /** How long the previous lease stays valid once every target holds the new credential. @default "5m" */
  revokeGrace: duration.optional(),
});

/** Vault PKI: `<mount>/issue/<role>` issues a certificate and key, written as a kubernetes.io/tls Secret. */
export const pkiSchema = z.strictObject({
  path: z.string().regex(/^[^/\s]+(\/[^/\s]+)*\/issue\/[^/\s]+$/, 'must be <mount>/issue/<role>'),
  commonName: z.string().min(1),
  altNames: z.array(z.string().min(1)).optional(),
  /** Requested validity; @default the role's ttl */
  ttl: duration.optional(),
  /** Re-issue this long before expiry. @default one third of the validity */
  renewBefore: duration.optional(),
  /** Re-issue at the latest this long after issue (ESO's refreshInterval). */
  renewAfter: duration.optional(),
  /** One certificate per target cluster. @default true */
  perTarget: z.boolean().optional(),
});

export const bindingSchema = z.strictObject({
  name,
  source: z.string().min(1),
  remoteRef: remoteRef.optional(),
  data: z.array(dataEntry).optional(),
  dataFrom: z.array(dataFromEntry).optional(),
  /** Accept an `aws` key with an IAM wildcard (`prod/*`): the functions are granted every secret it matches. */
  allowWildcard: z.boolean().optional(),
  /** Issue dynamic credentials from a vault source instead of reading a stored secret. */
  dynamic: dynamicSchema.optional(),
  /** Issue TLS certificates from a vault source's PKI engine instead of reading a stored secret. */
  pki: pkiSchema.optional(),
  target: z.strictObject({
    name: secretName,
    namespace: namespaceName,
    clusters: clusterSelector,
    creationPolicy: z.enum(['Owner', 'Merge', 'Orphan']).default('Owner'),
    /** What to do with target Secrets when the source secret is deleted. @default "Retain" */
    deletionPolicy: z.enum(['Retain', 'Delete']).default('Retain'),
    template: templateSchema.optional(),
  }),
  restart: z.union([restartSchema, z.literal(false)]).optional(),
  validate: z
    .strictObject({
      tls: z
        .strictObject({
          minValidity: duration.optional(),
          certKey: z.string().optional(),
          keyKey: z.string().optional(),
        })
        .optional(),
      dockerconfigjson: z.boolean().optional(),
      ssh: z.boolean().optional(),
      requiredKeys: z.array(z.string().min(1)).optional(),
    })
    .optional(),
  schedule: z
    .strictObject({
      reconcile: schedule.optional(),
      rotate: schedule.optional(),
    })
    .optional(),
  rotation: z.strictObject({ generator: generatorSchema }).optional(),
  rollout: z
    .strictObject({
      waves: z.array(clusterSelector).min(1),
      /** Stop later waves when a wave has failed targets. @default true */
      haltOnFailure: z.boolean().default(true),
    })
    .optional(),
});

export const settingsSchema = z.strictObject({
  /** Targets applied at once per invocation. @default 64 */
  concurrency: z.number().int().min(1).max(4096).default(64),
  /** Per-target deadline. @default "20s" */
  targetTimeout: duration
    .superRefine((value, ctx) => {
      // Below 1s every target fails at once; far above, a timer overflows and a hung cluster holds the run.
      const problem = durationRangeProblem(value, '1s', '15m');
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default('20s'),
  /** Scheduled reconciles warn about certificates in rendered Secrets that expire within this window. @default "30d" */
  certificateExpiryWindow: duration.default('30d'),
  /**
   * Clusters that keep their TLS connection open between requests (about 75 KiB each); the
   * others close it when their requests are done. `auto`: as many as a quarter of the
   * function's memory holds. @default "auto"
   */
  idleConnections: z.union([z.literal('auto'), z.number().int().min(0).max(1_000_000)]).default('auto'),
  /** Retries per target for 409/429/5xx/timeouts. @default 3 */
  retries: z.number().int().min(0).max(10).default(3),
  fanOut: z
    .strictObject({
      /** Above this many targets a change is split into work items of this many clusters (a reconcile's carry every binding of their clusters). @default 200 */
      batchSize: z.number().int().min(1).default(200),
    })
    .prefault({}),
  outcomes: z
    .strictObject({
      /** EventBridge bus (AWS) for outcome events. @default "default" */
      eventBus: z.string().min(1).default('default'),
      enabled: z.boolean().default(true),
    })
    .prefault({}),
});

export const registrySchema = z.strictObject({
  apiVersion: z.literal('secret-propagator/v1'),
  settings: settingsSchema.prefault({}),
  clusters: z.array(clusterSchema).default([]),
  sources: z.array(sourceSchema).default([]),
  bindings: z.array(bindingSchema).default([]),
});

export type Registry = z.infer<typeof registrySchema>;
export type RegistryInput = z.input<typeof registrySchema>;
export type ClusterSpec = z.infer<typeof clusterSchema>;
export type ClusterAuth = z.infer<typeof clusterAuthSchema>;
export type SourceSpec = z.infer<typeof sourceSchema>;
export type BindingSpec = z.infer<typeof bindingSchema>;
export type ClusterSelector = z.infer<typeof clusterSelector>;
export type TemplateSpec = z.infer<typeof templateSchema>;
export type DynamicSpec = z.infer<typeof dynamicSchema>;
export type PkiSpec = z.infer<typeof pkiSchema>;
export type RestartSpec = z.infer<typeof restartSchema>;
export type Settings = z.infer<typeof settingsSchema>;
export type SourceSpecOf<P extends SourceSpec['provider']> = Extract<SourceSpec, { provider: P }>;
