import type { TokenCredential } from '@azure/core-auth';
import { BlobServiceClient } from '@azure/storage-blob';
import { ConfigError } from '../core/errors.js';
import type { RegistryStore } from './types.js';

/** How the registry blob is reached: a token credential (managed identity, CLI login) or a connection string (Azurite). */
export type BlobAccess = { credential: TokenCredential } | { connectionString: string };

/**
 * The access of whoever runs the CLI: AZURE_STORAGE_CONNECTION_STRING when set (Azurite), else
 * DefaultAzureCredential (environment, workload identity, managed identity, `az login`).
 */
export async function cliBlobAccess(env: NodeJS.ProcessEnv = process.env): Promise<BlobAccess> {
  const connectionString = env['AZURE_STORAGE_CONNECTION_STRING'];
  if (connectionString !== undefined && connectionString !== '') return { connectionString };
  const { DefaultAzureCredential } = await import('@azure/identity');
  return { credential: new DefaultAzureCredential() };
}

/**
 * The published registry as one block blob; its version is the blob's ETag. With a connection
 * string the account comes from it (Azurite's well-known key in tests); the container and blob
 * still come from the URL.
 */
export function createAzureBlobRegistryStore(
  url: string,
  location: { accountUrl: string; container: string; blob: string },
  access: BlobAccess,
): RegistryStore {
  const service =
    'connectionString' in access
      ? BlobServiceClient.fromConnectionString(access.connectionString)
      : new BlobServiceClient(location.accountUrl, access.credential);
  const blob = service.getContainerClient(location.container).getBlockBlobClient(location.blob);
  const etag = (value: string | undefined) => {
    if (value === undefined) throw new ConfigError(`registry ${url}: Blob Storage returned no ETag`);
    return value;
  };
  return {
    url,
    async version() {
      return etag((await blob.getProperties()).etag);
    },
    async read() {
      // One response: the ETag is the one of the bytes read, even when a publish lands meanwhile.
      const response = await blob.download();
      const stream = response.readableStreamBody;
      if (stream === undefined) throw new ConfigError(`registry ${url}: Blob Storage returned no body`);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
      return { text: Buffer.concat(chunks).toString('utf8'), version: etag(response.etag) };
    },
    async write(text) {
      const body = Buffer.from(text, 'utf8');
      const uploaded = await blob.upload(body, body.length, {
        blobHTTPHeaders: { blobContentType: 'application/x-ndjson' },
      });
      return etag(uploaded.etag);
    },
  };
}
