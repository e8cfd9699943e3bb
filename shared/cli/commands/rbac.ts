import { Option, type Command } from 'commander';
import { stringify } from 'yaml';
import { WORKLOAD_KINDS, type WorkloadKind } from '../../core/ports.js';
import { WORKLOAD_RESOURCES } from '../../kube/workloads.js';
import { selectClusters, type Registry } from '../../registry/index.js';
import type { BindingSpec } from '../../registry/schema.js';
import {
  CliExit,
  ExitCode,
  loadRegistryOrExit,
  processIo,
  type CliIo,
  type GlobalOptions,
} from '../context.js';
import { withCommonOptions } from '../options.js';

interface RbacOptions extends GlobalOptions {
  cluster?: string;
  subjectKind: 'User' | 'Group' | 'ServiceAccount';
  subjectName: string;
  subjectNamespace?: string;
  roleName: string;
}

/** One namespace of one cluster, with the Secrets bindings write there and what they do to them. */
export interface RbacScope {
  cluster: string;
  namespace: string;
  secrets: string[];
  /** Secrets of bindings with `deletionPolicy: Delete`: the only ones the product deletes. */
  deletable: string[];
  /** Workload resources (plural) by the verbs a restart needs on them: get (named), list (auto, selector), patch. */
  workloads: Map<string, Set<RbacVerb>>;
  bindings: string[];
}

type RbacVerb = 'get' | 'list' | 'patch';

const WORKLOAD_VERB_ORDER: readonly RbacVerb[] = ['get', 'list', 'patch'];

/** What a binding's restarts need on workloads: named ones are read and patched, found ones listed and patched. */
function addRestartNeeds(restart: BindingSpec['restart'], workloads: Map<string, Set<RbacVerb>>): void {
  if (restart === undefined || restart === false) return;
  const need = (kind: WorkloadKind, verbs: RbacVerb[]) => {
    const plural = WORKLOAD_RESOURCES[kind].plural;
    const held = workloads.get(plural) ?? new Set<RbacVerb>();
    for (const verb of verbs) held.add(verb);
    workloads.set(plural, held);
  };
  for (const ref of restart.workloads ?? []) need(ref.kind, ['get', 'patch']);
  if (restart.auto === true || restart.selector !== undefined)
    for (const kind of restart.kinds ?? WORKLOAD_KINDS) need(kind, ['list', 'patch']);
}

/** Every (cluster, namespace) some binding writes to, in registry cluster order then namespace order. */
export function rbacScopes(registry: Registry): RbacScope[] {
  const scopes = new Map<string, RbacScope>();
  for (const binding of registry.bindings) {
    for (const cluster of selectClusters(registry.clusters, binding.target.clusters)) {
      const key = `${cluster.name}\u0000${binding.target.namespace}`;
      const scope = scopes.get(key) ?? {
        cluster: cluster.name,
        namespace: binding.target.namespace,
        secrets: [],
        deletable: [],
        workloads: new Map<string, Set<RbacVerb>>(),
        bindings: [],
      };
      const name = binding.target.name;
      if (!scope.secrets.includes(name)) scope.secrets.push(name);
      if (binding.target.deletionPolicy === 'Delete' && !scope.deletable.includes(name))
        scope.deletable.push(name);
      addRestartNeeds(binding.restart, scope.workloads);
      scope.bindings.push(binding.name);
      scopes.set(key, scope);
    }
  }
  const order = registry.clusters.map((c) => c.name);
  return [...scopes.values()].sort(
    (a, b) => order.indexOf(a.cluster) - order.indexOf(b.cluster) || a.namespace.localeCompare(b.namespace),
  );
}

/** One rule per distinct verb set on workloads, resources in the usual kind order. */
function workloadRules(workloads: Map<string, Set<RbacVerb>>): object[] {
  const byVerbs = new Map<string, string[]>();
  for (const kind of WORKLOAD_KINDS) {
    const plural = WORKLOAD_RESOURCES[kind].plural;
    const verbs = workloads.get(plural);
    if (verbs === undefined) continue;
    const key = WORKLOAD_VERB_ORDER.filter((v) => verbs.has(v)).join(',');
    byVerbs.set(key, [...(byVerbs.get(key) ?? []), plural]);
  }
  return [...byVerbs].map(([verbs, resources]) => ({
    apiGroups: ['apps'],
    resources,
    verbs: verbs.split(','),
  }));
}

/**
 * The minimal Role and RoleBinding for one namespace: create Secrets (Kubernetes cannot
 * limit `create` by name), list them (a reconcile lists the namespace's managed Secrets once
 * instead of reading each; `list` cannot be limited by name either), get/update the Secrets
 * bindings write, delete only those of bindings with `deletionPolicy: Delete`, and on
 * workloads only what restarts do: get and patch the named ones, list and patch the kinds
 * `auto` or a selector may restart.
 */
export function rbacManifests(
  scope: RbacScope,
  subject: { kind: string; name: string; namespace?: string },
  roleName: string,
): object[] {
  const labels = { 'app.kubernetes.io/managed-by': 'secret-propagator' };
  const role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: roleName, namespace: scope.namespace, labels },
    rules: [
      { apiGroups: [''], resources: ['secrets'], verbs: ['create', 'list'] },
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: [...scope.secrets].sort(),
        verbs: ['get', 'update'],
      },
      ...(scope.deletable.length === 0
        ? []
        : [
            {
              apiGroups: [''],
              resources: ['secrets'],
              resourceNames: [...scope.deletable].sort(),
              verbs: ['delete'],
            },
          ]),
      ...workloadRules(scope.workloads),
    ],
  };
  const roleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: roleName, namespace: scope.namespace, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
    subjects: [
      subject.kind === 'ServiceAccount'
        ? { kind: 'ServiceAccount', name: subject.name, namespace: subject.namespace }
        : { apiGroup: 'rbac.authorization.k8s.io', kind: subject.kind, name: subject.name },
    ],
  };
  return [role, roleBinding];
}

/** `rbac`: prints the Role/RoleBinding YAML per cluster and namespace that the function identity needs. */
export function register(program: Command, io: CliIo = processIo): void {
  withCommonOptions(program.command('rbac'))
    .description('print the minimal Kubernetes Role/RoleBinding YAML per namespace for the function identity')
    .option('--cluster <name>', 'only this cluster')
    .addOption(
      new Option('--subject-kind <kind>', 'who the RoleBinding grants')
        .choices(['User', 'Group', 'ServiceAccount'])
        .default('Group'),
    )
    .option(
      '--subject-name <name>',
      'the user, group or service account (EKS access entry group, AKS Entra object id, GKE service account e-mail...)',
      'secret-propagator',
    )
    .option(
      '--subject-namespace <ns>',
      'namespace of the ServiceAccount (with --subject-kind ServiceAccount)',
    )
    .option('--role-name <name>', 'name of the Role and RoleBinding', 'secret-propagator')
    .action((options: RbacOptions) => {
      const loaded = loadRegistryOrExit(options);
      const { registry } = loaded;
      if (options.cluster !== undefined && !registry.clusters.some((c) => c.name === options.cluster)) {
        throw new CliExit(
          ExitCode.InvalidInput,
          `unknown cluster "${options.cluster}" (known: ${registry.clusters.map((c) => c.name).join(', ') || 'none'})`,
        );
      }
      if (options.subjectKind === 'ServiceAccount' && options.subjectNamespace === undefined) {
        throw new CliExit(
          ExitCode.InvalidInput,
          '--subject-namespace is required with --subject-kind ServiceAccount',
        );
      }
      const subject = {
        kind: options.subjectKind,
        name: options.subjectName,
        ...(options.subjectNamespace === undefined ? {} : { namespace: options.subjectNamespace }),
      };
      const scopes = rbacScopes(registry).filter(
        (s) => options.cluster === undefined || s.cluster === options.cluster,
      );
      const docs = scopes.flatMap((scope) =>
        rbacManifests(scope, subject, options.roleName).map(
          (doc, i) =>
            `${i === 0 ? `# cluster ${scope.cluster}, namespace ${scope.namespace} (bindings: ${scope.bindings.join(', ')})\n` : ''}${stringify(doc)}`,
        ),
      );
      io.out(docs.length === 0 ? '# no binding writes to any cluster' : docs.join('---\n'));
    });
}
