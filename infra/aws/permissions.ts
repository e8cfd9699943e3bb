import type { Registry, SourceSpecOf } from '../../shared/registry/schema.js';
import { secretArnPattern } from '../../shared/sources/aws/arn.js';

/** Where the stack is deployed; tokens (`Aws.ACCOUNT_ID`) are fine here. */
export interface DeployScope {
  partition: string;
  region: string;
  account: string;
}

/** What the functions may touch, derived from the registry alone (least privilege). */
export interface AccessPlan {
  /** secretsmanager:GetSecretValue + DescribeSecret. */
  read: string[];
  /** secretsmanager:RotateSecret: bindings with a rotate schedule and no generator. */
  rotate: string[];
  /** secretsmanager:PutSecretValue: bindings with a rotate schedule and a generator. */
  write: string[];
  /** sts:AssumeRole: source roles and EKS cluster roles. */
  assumeRoles: string[];
  /** eks:DescribeCluster on these cluster ARNs. */
  eksClusters: string[];
  /** events:PutEvents on this bus ARN, when outcome events are enabled. */
  outcomeBus: string | undefined;
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
 * clusters by name, and the outcome bus. Sources with a `roleArn` read as that role, so
 * the function gets sts:AssumeRole on it instead of the secrets.
 */
export function accessPlan(registry: Registry, scope: DeployScope): AccessPlan {
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

  for (const binding of registry.bindings) {
    const source = awsSources.get(binding.source);
    for (const key of bindingKeys(binding)) addRead(binding.source, key);
    if (source === undefined || binding.schedule?.rotate === undefined || binding.remoteRef === undefined)
      continue;
    if (source.roleArn !== undefined) continue;
    const pattern = patternFor(source, binding.remoteRef.key);
    if (binding.rotation?.generator === undefined) rotate.push(pattern);
    else write.push(pattern);
  }

  const eksClusters: string[] = [];
  for (const cluster of registry.clusters) {
    const auth = cluster.auth;
    switch (auth.type) {
      case 'eks':
        eksClusters.push(
          `arn:${scope.partition}:eks:${auth.region}:${scope.account}:cluster/${auth.clusterName}`,
        );
        if (auth.roleArn !== undefined) assumeRoles.push(auth.roleArn);
        break;
      case 'token':
        addRead(auth.tokenFrom.source, auth.tokenFrom.key);
        break;
      case 'kubeconfig':
        addRead(auth.kubeconfigFrom.source, auth.kubeconfigFrom.key);
        break;
      case 'aks':
      case 'gke':
        break;
    }
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
    eksClusters: uniq(eksClusters),
    outcomeBus,
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
