import { BlobServiceClient } from '@azure/storage-blob';
import { createAzureBlobRegistryStore } from '../../shared/registry-store/azure-blob.js';
import { parseRegistryUrl } from '../../shared/registry-store/location.js';
import { itPublishesThrough } from '../registry/store-contract.js';
import { startAzuriteBlob, type LocalAzuriteBlob } from './support/azurite.js';

let azurite: LocalAzuriteBlob;
let objects = 0;
const CONTAINER = 'registry';

beforeAll(async () => {
  azurite = await startAzuriteBlob();
  await BlobServiceClient.fromConnectionString(azurite.connectionString).createContainer(CONTAINER);
}, 30_000);
afterAll(() => azurite.stop());

describe('secret-propagator publish --to Azure Blob Storage (Azurite)', () => {
  itPublishesThrough({
    // Azurite's path-style form of https://<account>.blob.core.windows.net/<container>/<blob>.
    url: () => `${azurite.accountUrl}/${CONTAINER}/fleet/registry-${++objects}.json`,
    open: (url) => {
      const location = parseRegistryUrl(url);
      if (location.kind !== 'azure-blob') throw new Error(`not a blob URL: ${url}`);
      return createAzureBlobRegistryStore(url, location, { connectionString: azurite.connectionString });
    },
    env: () => ({ AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString }),
  });
});

describe('Azure Blob Storage registry URLs', () => {
  it('reads the account, container and blob of a public-cloud URL', () => {
    expect(
      parseRegistryUrl('https://fleetregistry.blob.core.windows.net/registry/prod/registry.json'),
    ).toEqual({
      kind: 'azure-blob',
      url: 'https://fleetregistry.blob.core.windows.net/registry/prod/registry.json',
      accountUrl: 'https://fleetregistry.blob.core.windows.net',
      container: 'registry',
      blob: 'prod/registry.json',
    });
  });
});
