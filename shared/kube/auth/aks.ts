import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { ClusterAuthenticator } from '../../core/ports.js';
import {
  createAksTokenAuthenticator,
  type AksAuthSpec,
  type AksTokenAuthenticatorOptions,
} from './aks-token.js';

export { AKS_SERVER_APP_SCOPE, createAksTokenAuthenticator } from './aks-token.js';
export type { AksAuthSpec, AksTokenAuthenticatorOptions } from './aks-token.js';

export type AksAuthenticatorOptions = Omit<AksTokenAuthenticatorOptions, 'credential'> & {
  /** @default a DefaultAzureCredential (environment, workload or managed identity, Azure CLI ...), created on first use */
  credential?: TokenCredential;
};

/**
 * The CLI's `aks` authenticator (contracts: `create<Type>Authenticator`, no required options):
 * see createAksTokenAuthenticator. The Function App builds that one directly with its
 * managed identity, so its bundle carries no @azure/identity (nor MSAL).
 */
export function createAksAuthenticator(
  options: AksAuthenticatorOptions = {},
): ClusterAuthenticator<AksAuthSpec> {
  let fallback: DefaultAzureCredential | undefined;
  // Created on first use: a registry may list aks clusters that a command never reaches.
  const credential: TokenCredential = options.credential ?? {
    getToken: (scopes, getOptions) =>
      (fallback ??= new DefaultAzureCredential()).getToken(scopes, getOptions),
  };
  return createAksTokenAuthenticator({ ...options, credential });
}
