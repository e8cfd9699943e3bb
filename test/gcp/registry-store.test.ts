import { Storage } from '@google-cloud/storage';
import { createGcsRegistryStore } from '../../shared/registry-store/gcs.js';
import { parseRegistryUrl } from '../../shared/registry-store/location.js';
import { itPublishesThrough } from '../registry/store-contract.js';
import { startFakeGcs, type FakeGcs } from './support/fake-gcs.js';

let gcs: FakeGcs;
let objects = 0;
const BUCKET = 'fleet-registry';

// The emulator is built on first use (scripts/test-servers.sh; minutes cold on 2 cores).
beforeAll(async () => {
  gcs = await startFakeGcs();
  await storage().createBucket(BUCKET, { versioning: { enabled: true } });
}, 600_000);
afterAll(() => gcs.stop());

function storage(): Storage {
  return new Storage({ apiEndpoint: gcs.endpoint, projectId: 'test-project' });
}

describe('secret-propagator publish --to gs:// (fake-gcs-server)', () => {
  itPublishesThrough({
    url: () => `gs://${BUCKET}/fleet/registry-${++objects}.json`,
    open: (url) => {
      const location = parseRegistryUrl(url);
      if (location.kind !== 'gcs') throw new Error(`not gs: ${url}`);
      return createGcsRegistryStore(url, location, storage());
    },
    env: () => ({ STORAGE_EMULATOR_HOST: gcs.endpoint, GOOGLE_CLOUD_PROJECT: 'test-project' }),
  });
});
