import { DefaultAzureCredential } from '@azure/identity';
import { createAzureSourceFactory, type AzureSourceFactory } from './key-vault.js';

export * from './key-vault.js';

/**
 * The CLI's `azure` source factory (contracts: `<provider>SourceFactory`): Key Vault with a
 * DefaultAzureCredential (environment, workload identity, managed identity, Azure CLI ...),
 * created on first use. The Function App does not import this module: it builds its
 * factory from ./key-vault.ts with its managed identity, so its bundle carries no
 * @azure/identity (nor MSAL).
 */
let defaultFactory: AzureSourceFactory | undefined;
export const azureSourceFactory: AzureSourceFactory = (spec, ctx) =>
  (defaultFactory ??= createAzureSourceFactory({ credential: new DefaultAzureCredential() }))(spec, ctx);
