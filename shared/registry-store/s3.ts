import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ConfigError } from '../core/errors.js';
import type { RegistryStore } from './types.js';

/**
 * An S3 client for the registry bucket. An endpoint override (AWS_ENDPOINT_URL_S3 or
 * AWS_ENDPOINT_URL: an emulator, a VPC interface endpoint) is addressed path-style, since
 * `<bucket>.<endpoint host>` does not resolve there.
 */
export function createRegistryS3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = env['AWS_ENDPOINT_URL_S3'] ?? env['AWS_ENDPOINT_URL'];
  return new S3Client(endpoint === undefined || endpoint === '' ? {} : { endpoint, forcePathStyle: true });
}

/** The published registry as one S3 object; its version is the object's ETag. */
export function createS3RegistryStore(
  url: string,
  location: { bucket: string; key: string },
  client: S3Client = createRegistryS3Client(),
): RegistryStore {
  const { bucket, key } = location;
  const etag = (value: string | undefined) => {
    if (value === undefined) throw new ConfigError(`registry ${url}: S3 returned no ETag`);
    return value;
  };
  return {
    url,
    async version() {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return etag(head.ETag);
    },
    async read() {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (object.Body === undefined) throw new ConfigError(`registry ${url}: S3 returned no body`);
      return { text: await object.Body.transformToString('utf8'), version: etag(object.ETag) };
    },
    async write(text) {
      const put = await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: text,
          ContentType: 'application/x-ndjson',
          // The bucket also encrypts by default; asking keeps a bucket without it from storing plain text.
          ServerSideEncryption: 'AES256',
        }),
      );
      return etag(put.ETag);
    },
  };
}
