import { Aws, NestedStack, Stack, Token, aws_eks as eks, type aws_iam as iam } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ConfigError } from '../../shared/core/errors.js';
import type { Registry } from '../../shared/registry/schema.js';
import { selectClusters } from '../../shared/registry/select.js';

/**
 * Access entries per nested stack: CloudFormation allows 500 resources in a stack, and each
 * entry (with its access policy) is one `AWS::EKS::AccessEntry`.
 */
export const ACCESS_ENTRIES_PER_NESTED_STACK = 400;

/**
 * The EKS access policy the entries carry, always at namespace scope. Edit is the narrowest
 * EKS access policy that creates, updates and deletes Secrets and patches Deployments,
 * StatefulSets and DaemonSets (View cannot write; Admin adds RBAC rights). For exactly the
 * verbs the product uses, bind the Role `secret-propagator rbac` prints instead.
 */
export const ACCESS_POLICY = 'AmazonEKSEditPolicy';

/** One registry cluster that gets access entries: where it is and the namespaces bindings write in it. */
export interface AccessEntrySpec {
  /** The registry name (`clusters[].name`). */
  cluster: string;
  /** The EKS cluster name (`auth.clusterName`). */
  clusterName: string;
  region: string;
  namespaces: string[];
}

/**
 * Resolves `-c eksAccessEntries` (registry cluster names, or `all` for every EKS cluster) to
 * the clusters, their regions and the namespaces the registry's bindings write in each.
 * A name that is not an EKS cluster of the registry is a ConfigError; a cluster no binding
 * writes to gets no entry, since an entry would only grant rights nothing uses.
 */
export function accessEntrySpecs(registry: Registry, wanted: readonly string[] | 'all'): AccessEntrySpec[] {
  const eksClusters = registry.clusters.filter((c) => c.auth.type === 'eks');
  const problems: string[] = [];
  const chosen =
    wanted === 'all'
      ? eksClusters
      : wanted.flatMap((name, i) => {
          const found = eksClusters.find((c) => c.name === name);
          if (found === undefined)
            problems.push(
              `eksAccessEntries[${i}]: "${name}" is not an eks cluster of the registry (known: ${eksClusters.map((c) => c.name).join(', ') || 'none'})`,
            );
          return found === undefined ? [] : [found];
        });
  if (problems.length > 0) throw new ConfigError('EKS access entries name unknown clusters', problems);

  const namespaces = new Map<string, Set<string>>();
  for (const binding of registry.bindings) {
    for (const cluster of selectClusters(registry.clusters, binding.target.clusters)) {
      const set = namespaces.get(cluster.name) ?? new Set<string>();
      set.add(binding.target.namespace);
      namespaces.set(cluster.name, set);
    }
  }
  return chosen.flatMap((cluster) => {
    const auth = cluster.auth;
    const written = [...(namespaces.get(cluster.name) ?? [])].sort();
    if (auth.type !== 'eks' || written.length === 0) return [];
    return [
      { cluster: cluster.name, clusterName: auth.clusterName, region: auth.region, namespaces: written },
    ];
  });
}

/**
 * One stack per region of the clusters (an access entry lives in its cluster's region),
 * each holding the entries in nested stacks of ACCESS_ENTRIES_PER_NESTED_STACK: every
 * principal gets an entry on every cluster, scoped to that cluster's namespaces.
 */
export function createAccessEntryStacks(
  scope: Construct,
  parent: Stack,
  specs: readonly AccessEntrySpec[],
  principals: readonly iam.IRole[],
): Stack[] {
  if (specs.length > 0 && (Token.isUnresolved(parent.region) || Token.isUnresolved(parent.account))) {
    throw new ConfigError('eksAccessEntries needs the stack account and region', [
      "eksAccessEntries: each access entry is created in its cluster's region and names the function roles by ARN, so the stack needs a concrete env: deploy with credentials, or set CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION",
    ]);
  }
  const byRegion = new Map<string, AccessEntrySpec[]>();
  for (const spec of specs) byRegion.set(spec.region, [...(byRegion.get(spec.region) ?? []), spec]);
  return [...byRegion.entries()].map(([region, clusters]) => {
    const stack = new Stack(scope, `${parent.node.id}EksAccess-${region}`, {
      stackName: `${parent.stackName}-eks-access-${region}`,
      description: `secret-propagator: EKS access entries of the function roles in ${region}`,
      env: { ...(Token.isUnresolved(parent.account) ? {} : { account: parent.account }), region },
    });
    stack.addStackDependency(parent, 'the function roles must exist before their access entries');
    const entries = clusters.flatMap((cluster) => principals.map((principal) => ({ cluster, principal })));
    for (
      let start = 0, chunk = 0;
      start < entries.length;
      start += ACCESS_ENTRIES_PER_NESTED_STACK, chunk++
    ) {
      const nested = new NestedStack(stack, `Entries${chunk}`, {
        description: `secret-propagator EKS access entries ${start + 1}-${Math.min(start + ACCESS_ENTRIES_PER_NESTED_STACK, entries.length)}`,
      });
      entries.slice(start, start + ACCESS_ENTRIES_PER_NESTED_STACK).forEach(({ cluster, principal }, i) => {
        new eks.CfnAccessEntry(nested, `Entry${start + i}`, {
          clusterName: cluster.clusterName,
          principalArn: principal.roleArn,
          type: 'STANDARD',
          accessPolicies: [
            {
              policyArn: `arn:${Aws.PARTITION}:eks::aws:cluster-access-policy/${ACCESS_POLICY}`,
              accessScope: { type: 'namespace', namespaces: cluster.namespaces },
            },
          ],
        });
      });
    }
    return stack;
  });
}
