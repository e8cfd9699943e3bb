import { KubeConfig } from '@kubernetes/client-node';
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
export function kubeconfigCredentials(text: string, where: string, context?: string): ClusterCredentials {
  const config = new KubeConfig();
  try {
    config.loadFromString(text);
  } catch {
    // The parser's message may quote the document: keep it out.
    throw new ConfigError(`${where} is not a valid kubeconfig (YAML with clusters, users and contexts)`);
  }
  const contextName = context ?? config.getCurrentContext();
  const ctx = config.getContextObject(contextName);
  if (ctx === null) {
    const known =
      config
        .getContexts()
        .map((c) => c.name)
        .join(', ') || 'none';
    throw new ConfigError(
      `${where} has no context "${contextName}" (contexts: ${known}); set auth.context or current-context`,
    );
  }
  const cluster = config.getCluster(ctx.cluster);
  const user = config.getUser(ctx.user);
  if (cluster === null)
    throw new ConfigError(
      `${where}: context "${contextName}" names cluster "${ctx.cluster}", which is not defined`,
    );
  if (user === null)
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
  return {
    type: 'kubeconfig',
    async credentials(cluster): Promise<ClusterCredentials> {
      const text = await options.readValue(toValueRef(cluster.auth.kubeconfigFrom));
      const where = `cluster "${cluster.name}": the kubeconfig in source "${cluster.auth.kubeconfigFrom.source}" key "${cluster.auth.kubeconfigFrom.key}"`;
      return kubeconfigCredentials(text, where, cluster.auth.context);
    },
  };
}
