import { parse as parseYaml } from 'yaml';
import { cachingAuthenticator } from '../credentials.js';
import { ConfigError } from '../../core/errors.js';
import type { ClusterAuthenticator, ClusterCredentials } from '../../core/ports.js';
import type { ClusterAuth } from '../../registry/schema.js';
import type { ReadValue } from './token.js';
import { toValueRef } from './token.js';

export type KubeconfigAuth = Extract<ClusterAuth, { type: 'kubeconfig' }>;

/**
 * Credentials from a kubeconfig document: server, CA and either a bearer token or a client
 * certificate of the chosen context. Exec and auth-provider plugins are not supported (a
 * function has no CLI to run): use the eks / aks / gke auth types instead. TLS verification
 * can not be turned off.
 */
interface NamedCluster {
  name: string;
  server: string;
  caData?: string;
  skipTLSVerify: boolean;
}
interface NamedUser {
  name: string;
  token?: string;
  certData?: string;
  keyData?: string;
  exec?: unknown;
  authProvider?: unknown;
}
interface NamedContext {
  name: string;
  cluster: string;
  user: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The `name` + nested object entries of one kubeconfig list (clusters, users, contexts). */
function namedEntries(
  doc: Record<string, unknown>,
  list: string,
  inner: string,
): { name: string; body: Record<string, unknown> }[] {
  const items = doc[list];
  if (items === undefined || items === null) return [];
  if (!Array.isArray(items)) throw new Error(`${list} is not a list`);
  return items.map((item) => {
    const name = isRecord(item) ? str(item['name']) : undefined;
    const body = isRecord(item) ? item[inner] : undefined;
    if (name === undefined || !isRecord(body)) throw new Error(`an entry of ${list} lacks name or ${inner}`);
    return { name, body };
  });
}

/**
 * Reads the parts of a kubeconfig a function can use, with the same field names and
 * lookup rules as @kubernetes/client-node's KubeConfig (test/kube/kubeconfig.test.ts holds
 * the two side by side). Not KubeConfig itself: that pulls the whole generated client
 * (about 1.3 MB minified) into every function bundle for a YAML lookup.
 */
function parseKubeconfig(text: string): {
  currentContext: string;
  clusters: NamedCluster[];
  users: NamedUser[];
  contexts: NamedContext[];
} {
  const doc: unknown = parseYaml(text);
  if (!isRecord(doc)) throw new Error('not a mapping');
  const clusters = namedEntries(doc, 'clusters', 'cluster').map(({ name, body }) => {
    const server = str(body['server']);
    if (server === undefined) throw new Error(`cluster ${name} has no server`);
    const caData = str(body['certificate-authority-data']);
    return {
      name,
      server,
      skipTLSVerify: body['insecure-skip-tls-verify'] === true,
      ...(caData === undefined ? {} : { caData }),
    };
  });
  const users = namedEntries(doc, 'users', 'user').map(({ name, body }) => {
    const user: NamedUser = { name };
    const token = str(body['token']);
    const certData = str(body['client-certificate-data']);
    const keyData = str(body['client-key-data']);
    if (token !== undefined) user.token = token;
    if (certData !== undefined) user.certData = certData;
    if (keyData !== undefined) user.keyData = keyData;
    if (body['exec'] !== undefined && body['exec'] !== null) user.exec = body['exec'];
    if (body['auth-provider'] !== undefined && body['auth-provider'] !== null)
      user.authProvider = body['auth-provider'];
    return user;
  });
  const contexts = namedEntries(doc, 'contexts', 'context').map(({ name, body }) => ({
    name,
    cluster: str(body['cluster']) ?? '',
    user: str(body['user']) ?? '',
  }));
  return { currentContext: str(doc['current-context']) ?? '', clusters, users, contexts };
}

/**
 * Credentials from a kubeconfig document: server, CA and either a bearer token or a client
 * certificate of the chosen context. Exec and auth-provider plugins are not supported (a
 * function has no CLI to run): use the eks / aks / gke auth types instead. TLS verification
 * can not be turned off.
 */
export function kubeconfigCredentials(text: string, where: string, context?: string): ClusterCredentials {
  let config: ReturnType<typeof parseKubeconfig>;
  try {
    config = parseKubeconfig(text);
  } catch {
    // The parser's message may quote the document: keep it out.
    throw new ConfigError(`${where} is not a valid kubeconfig (YAML with clusters, users and contexts)`);
  }
  const contextName = context ?? config.currentContext;
  const ctx = config.contexts.find((c) => c.name === contextName);
  if (ctx === undefined) {
    const known = config.contexts.map((c) => c.name).join(', ') || 'none';
    throw new ConfigError(
      `${where} has no context "${contextName}" (contexts: ${known}); set auth.context or current-context`,
    );
  }
  const cluster = config.clusters.find((c) => c.name === ctx.cluster);
  const user = config.users.find((u) => u.name === ctx.user);
  if (cluster === undefined)
    throw new ConfigError(
      `${where}: context "${contextName}" names cluster "${ctx.cluster}", which is not defined`,
    );
  if (user === undefined)
    throw new ConfigError(
      `${where}: context "${contextName}" names user "${ctx.user}", which is not defined`,
    );
  if (cluster.skipTLSVerify) {
    throw new ConfigError(
      `${where}: cluster "${cluster.name}" sets insecure-skip-tls-verify; TLS is always verified, give certificate-authority-data instead`,
    );
  }
  if (user.exec !== undefined || user.authProvider !== undefined) {
    throw new ConfigError(
      `${where}: user "${user.name}" uses an exec or auth-provider plugin, which functions cannot run; use auth.type eks, aks or gke, or a token`,
    );
  }
  const credentials: ClusterCredentials = { server: cluster.server };
  if (cluster.caData !== undefined && cluster.caData !== '') credentials.caData = cluster.caData;
  if (user.token !== undefined && user.token !== '') credentials.token = user.token;
  else if (user.certData !== undefined && user.keyData !== undefined) {
    credentials.clientCertData = user.certData;
    credentials.clientKeyData = user.keyData;
  } else {
    throw new ConfigError(
      `${where}: user "${user.name}" has neither a token nor client-certificate-data/client-key-data (file paths are not supported)`,
    );
  }
  return credentials;
}

/** `auth: { type: kubeconfig, kubeconfigFrom: { source, key }, context? }`. */
export function createKubeconfigAuthenticator(options: {
  readValue: ReadValue;
}): ClusterAuthenticator<KubeconfigAuth> {
  // Read once per cluster and kept until a 401 invalidates it (then the store is read again).
  return cachingAuthenticator<KubeconfigAuth>('kubeconfig', async (cluster): Promise<ClusterCredentials> => {
    const text = await options.readValue(toValueRef(cluster.auth.kubeconfigFrom));
    const where = `cluster "${cluster.name}": the kubeconfig in source "${cluster.auth.kubeconfigFrom.source}" key "${cluster.auth.kubeconfigFrom.key}"`;
    return kubeconfigCredentials(text, where, cluster.auth.context);
  });
}
