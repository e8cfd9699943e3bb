import { ConfigError } from '../../shared/core/errors.js';
import type { Registry, SourceSpecOf } from '../../shared/registry/schema.js';
import { bindingKeysAt, wildcardKeyReason, wildcardProblems } from '../../shared/registry/wildcard.js';
import { secretArnPattern } from '../../shared/sources/aws/arn.js';

/** Where the stack is deployed; tokens (`Aws.ACCOUNT_ID`) are fine here. */
export interface DeployScope {
  partition: string;
  region: string;
  account: string;
}

/**
 * Above this many characters of cluster ARNs, `eks:DescribeCluster` is granted per region
 * (`cluster/*` in each registry region) instead of cluster by cluster: a role's inline
 * policies may hold 10,240 characters in all, and 1,500 cluster ARNs take about 90,000.
 */
export const EKS_ARN_LIST_BUDGET = 2_048;

/** A binding that opted in to a wildcard key (`allowWildcard: true`) and the patterns it grants. */
export interface WildcardGrant {
  binding: string;
  patterns: string[];
}

/** What the functions may touch, derived from the registry alone (least privilege). */
export interface AccessPlan {
  /** secretsmanager:GetSecretValue + DescribeSecret: every function reads. */
  read: string[];
  /** secretsmanager:RotateSecret: bindings with a rotate schedule and no generator (schedule function only). */
  rotate: string[];
  /** secretsmanager:PutSecretValue: bindings with a rotate schedule and a generator (schedule function only). */
  write: string[];
  /** sts:AssumeRole: source roles and EKS cluster roles. */
  assumeRoles: string[];
  /** eks:DescribeCluster on these cluster ARNs, or on `cluster/*` per region when `eksByRegion`. */
  eksClusters: string[];
  /** True when `eksClusters` are region patterns (the cluster list did not fit EKS_ARN_LIST_BUDGET). */
  eksByRegion: boolean;
  /** How many EKS clusters the registry names (what the region patterns stand for). */
  eksClusterCount: number;
  /** events:PutEvents on this bus ARN, when outcome events are enabled. */
  outcomeBus: string | undefined;
  /** Opted-in wildcard patterns, by binding: each gets its own cdk-nag acknowledgement. */
  wildcards: WildcardGrant[];
}

const uniq = (values: Iterable<string>): string[] => [...new Set(values)].sort();

function bindingKeys(binding: Registry['bindings'][number]): string[] {
  const keys: string[] = [];
  if (binding.remoteRef !== undefined) keys.push(binding.remoteRef.key);
  for (const entry of binding.data ?? []) keys.push(entry.remoteRef?.key ?? binding.remoteRef?.key ?? '');
  for (const entry of binding.dataFrom ?? []) keys.push(entry.extract.key ?? binding.remoteRef?.key ?? '');
  return keys.filter((k) => k !== '');
}

/**
 * Builds the access plan: secret ARN patterns per AWS source region (names get the
 * `-??????` suffix wildcard), rotation rights only where rotation is scheduled, EKS
 * clusters by name (by region past EKS_ARN_LIST_BUDGET), and the outcome bus. Sources with
 * a `roleArn` read as that role, so the function gets sts:AssumeRole on it instead of the
 * secrets. A key that would widen IAM past one secret throws a ConfigError naming its
 * path, unless its binding opted in (`allowWildcard: true`).
 */
export function accessPlan(registry: Registry, scope: DeployScope): AccessPlan {
  const refused = wildcardProblems(registry);
  if (refused.length > 0)
    throw new ConfigError('the registry would grant IAM on more than one secret per key', refused);

  const awsSources = new Map<string, SourceSpecOf<'aws'>>();
  for (const source of registry.sources) if (source.provider === 'aws') awsSources.set(source.name, source);

  const read: string[] = [];
  const rotate: string[] = [];
  const write: string[] = [];
  const assumeRoles: string[] = [];
  const patternFor = (source: SourceSpecOf<'aws'>, key: string) =>
    secretArnPattern(key, { ...scope, region: source.region });

  const addRead = (sourceName: string, key: string) => {
    const source = awsSources.get(sourceName);
    if (source === undefined) return;
    if (source.roleArn !== undefined) assumeRoles.push(source.roleArn);
    else read.push(patternFor(source, key));
  };

  const wildcards: WildcardGrant[] = [];
  registry.bindings.forEach((binding, i) => {
    const source = awsSources.get(binding.source);
    for (const key of bindingKeys(binding)) addRead(binding.source, key);
    if (source !== undefined && source.roleArn === undefined && binding.allowWildcard === true) {
      const patterns = bindingKeysAt(binding, `bindings[${i}]`)
        .filter(({ key }) => wildcardKeyReason(key) !== undefined)
        .map(({ key }) => patternFor(source, key));
      if (patterns.length > 0) wildcards.push({ binding: binding.name, patterns: uniq(patterns) });
    }
    if (source === undefined || binding.schedule?.rotate === undefined || binding.remoteRef === undefined)
      return;
    if (source.roleArn !== undefined) return;
    const pattern = patternFor(source, binding.remoteRef.key);
    if (binding.rotation?.generator === undefined) rotate.push(pattern);
    else write.push(pattern);
  });

  const eks = eksGrants(registry, scope);
  for (const cluster of registry.clusters) {
    const auth = cluster.auth;
    if (auth.type === 'eks' && auth.roleArn !== undefined) assumeRoles.push(auth.roleArn);
    if (auth.type === 'token') addRead(auth.tokenFrom.source, auth.tokenFrom.key);
    if (auth.type === 'kubeconfig') addRead(auth.kubeconfigFrom.source, auth.kubeconfigFrom.key);
  }

  const bus = registry.settings.outcomes.eventBus;
  const outcomeBus = !registry.settings.outcomes.enabled
    ? undefined
    : bus.startsWith('arn:')
      ? bus
      : `arn:${scope.partition}:events:${scope.region}:${scope.account}:event-bus/${bus}`;

  return {
    read: uniq(read),
    rotate: uniq(rotate),
    write: uniq(write),
    assumeRoles: uniq(assumeRoles),
    ...eks,
    outcomeBus,
    wildcards,
  };
}

/**
 * eks:DescribeCluster resources: each registry cluster's ARN while they fit the budget
 * (counted with a 12-digit account and the longest partition), else `cluster/*` per region.
 */
function eksGrants(
  registry: Registry,
  scope: DeployScope,
): Pick<AccessPlan, 'eksClusters' | 'eksByRegion' | 'eksClusterCount'> {
  const clusters: { region: string; name: string }[] = [];
  for (const cluster of registry.clusters)
    if (cluster.auth.type === 'eks')
      clusters.push({ region: cluster.auth.region, name: cluster.auth.clusterName });
  const arn = (region: string, resource: string) =>
    `arn:${scope.partition}:eks:${region}:${scope.account}:cluster/${resource}`;
  const listed = uniq(clusters.map((c) => `${c.region}/${c.name}`));
  const listedSize = clusters.reduce(
    (size, c) => size + `"arn:aws-us-gov:eks:${c.region}:123456789012:cluster/${c.name}",`.length,
    0,
  );
  const eksByRegion = listedSize > EKS_ARN_LIST_BUDGET;
  return {
    eksClusters: eksByRegion
      ? uniq(clusters.map((c) => arn(c.region, '*')))
      : listed.map((key) => {
          const [region = '', ...name] = key.split('/');
          return arn(region, name.join('/'));
        }),
    eksByRegion,
    eksClusterCount: listed.length,
  };
}

/** Schedule rules: one per (kind, expression), each listing the bindings it covers. */
export function scheduleGroups(
  registry: Registry,
): { kind: 'reconcile' | 'rotate'; expression: string; bindings: string[] }[] {
  const groups = new Map<string, { kind: 'reconcile' | 'rotate'; expression: string; bindings: string[] }>();
  for (const binding of registry.bindings) {
    for (const kind of ['reconcile', 'rotate'] as const) {
      const expression = binding.schedule?.[kind];
      if (expression === undefined) continue;
      const key = `${kind}|${expression}`;
      const group = groups.get(key) ?? { kind, expression, bindings: [] };
      group.bindings.push(binding.name);
      groups.set(key, group);
    }
  }
  return [...groups.values()];
}
