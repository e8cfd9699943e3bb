import type { Command } from 'commander';
import { toPublished } from '../../registry/published.js';
import { createFileRegistryStore, parseRegistryUrl, type RegistryStore } from '../../registry-store/index.js';
import { withCommonOptions } from '../options.js';
import {
  CliExit,
  ExitCode,
  loadRegistryOrExit,
  processIo,
  registryPath,
  type CliIo,
  type GlobalOptions,
} from '../context.js';

interface PublishOptions extends GlobalOptions {
  to: string;
}

/**
 * The store for `--to`, with the credentials of whoever runs the CLI: the AWS default chain,
 * Azure's DefaultAzureCredential (or AZURE_STORAGE_CONNECTION_STRING, as for Azurite), Google's
 * application default credentials. Only the SDK of the URL's cloud is loaded.
 */
async function cliStore(url: string, env: NodeJS.ProcessEnv = process.env): Promise<RegistryStore> {
  const location = parseRegistryUrl(url);
  switch (location.kind) {
    case 'file':
      return createFileRegistryStore(url, location.path);
    case 's3':
      return (await import('../../registry-store/s3.js')).createS3RegistryStore(url, location);
    case 'gcs':
      return (await import('../../registry-store/gcs.js')).createGcsRegistryStore(url, location);
    case 'azure-blob': {
      const blob = await import('../../registry-store/azure-blob.js');
      return blob.createAzureBlobRegistryStore(url, location, await blob.cliBlobAccess(env));
    }
  }
}

/**
 * `publish`: validates the registry (schema and cross-checks; exit 2 with every problem, nothing
 * written) and writes its published form to S3, Azure Blob Storage, Cloud Storage or a file,
 * where the functions read it (`REGISTRY_URL`).
 */
export function register(program: Command, io: CliIo = processIo): void {
  withCommonOptions(program.command('publish'))
    .description(
      'validate the registry and write its published form where the functions read it (s3://, https://<account>.blob.core.windows.net/, gs://, file://)',
    )
    .requiredOption('--to <url>', 'where to write it: the REGISTRY_URL of the deployment')
    .action(async (options: PublishOptions) => {
      const loaded = loadRegistryOrExit(options);
      const published = toPublished(loaded.registry);
      // An unusable URL is invalid input (exit 2), found before anything is written.
      const store = await cliStore(options.to);
      let version: string;
      try {
        version = await store.write(published);
      } catch (error) {
        const reason = error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error);
        throw new CliExit(ExitCode.Failed, `cannot write the registry to ${options.to}: ${reason}`);
      }
      const { clusters, sources, bindings } = loaded.registry;
      const hash = /"sha256":"([0-9a-f]+)"/.exec(published)?.[1] ?? '';
      io.out(
        `published ${registryPath(options)} to ${options.to}: ${clusters.length} cluster(s), ${sources.length} source(s), ${bindings.length} binding(s), ${Buffer.byteLength(published)} bytes, sha256 ${hash}, version ${version}`,
      );
    });
}
