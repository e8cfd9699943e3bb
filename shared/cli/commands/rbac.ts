import { Option, type Command } from 'commander';
import { stringify } from 'yaml';
import { selectClusters, type Registry } from '../../registry/index.js';
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

/** One namespace of one cluster, with the Secrets bindings write there. */
export interface RbacScope {
  cluster: string;
  namespace: string;
  secrets: string[];
  bindings: string[];
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
        bindings: [],
      };
      if (!scope.secrets.includes(binding.target.name)) scope.secrets.push(binding.target.name);
      scope.bindings.push(binding.name);
      scopes.set(key, scope);
    }
  }
  const order = registry.clusters.map((c) => c.name);
  return [...scopes.values()].sort(
    (a, b) => order.indexOf(a.cluster) - order.indexOf(b.cluster) || a.namespace.localeCompare(b.namespace),
  );
}

/**
 * The minimal Role and RoleBinding for one namespace: create Secrets (Kubernetes cannot
 * limit `create` by name), get/update/delete only the Secrets bindings write, and
 * get/list/patch the workloads a restart touches.
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
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: [...scope.secrets].sort(),
        verbs: ['get', 'update', 'delete'],
      },
      {
        apiGroups: ['apps'],
        resources: ['deployments', 'statefulsets', 'daemonsets'],
        verbs: ['get', 'list', 'patch'],
      },
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
