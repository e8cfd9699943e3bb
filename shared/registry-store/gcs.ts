import { Storage } from '@google-cloud/storage';
import { ConfigError } from '../core/errors.js';
import type { RegistryStore } from './types.js';

/**
 * The published registry as one Cloud Storage object; its version is the object's generation.
 * The client honours STORAGE_EMULATOR_HOST (fake-gcs-server in tests).
 */
export function createGcsRegistryStore(
  url: string,
  location: { bucket: string; object: string },
  storage: Storage = new Storage(),
): RegistryStore {
  const bucket = storage.bucket(location.bucket);
  const generationOf = (metadata: { generation?: string | number }) => {
    if (metadata.generation === undefined) {
      throw new ConfigError(`registry ${url}: Cloud Storage returned no generation`);
    }
    return String(metadata.generation);
  };
  const version = async () => generationOf((await bucket.file(location.object).getMetadata())[0]);
  return {
    url,
    version,
    async read() {
      // Reads the generation it names, so the version returned is the one of the bytes read.
      const generation = await version();
      const [content] = await bucket.file(location.object, { generation }).download();
      return { text: content.toString('utf8'), version: generation };
    },
    async write(text) {
      const file = bucket.file(location.object);
      await file.save(text, { contentType: 'application/x-ndjson', resumable: false });
      return generationOf(file.metadata);
    },
  };
}
