import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { createRegistryS3Client, createS3RegistryStore } from '../../shared/registry-store/s3.js';
import { parseRegistryUrl } from '../../shared/registry-store/location.js';
import { itPublishesThrough } from '../registry/store-contract.js';
import { startMoto, type Moto } from './support/moto.js';

let moto: Moto;
let objects = 0;
const BUCKET = 'registry-bucket';

beforeAll(async () => {
  moto = await startMoto();
  const client = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true });
  await client.send(
    new CreateBucketCommand({
      Bucket: BUCKET,
      CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
    }),
  );
}, 30_000);
afterAll(() => moto.stop());

describe('secret-propagator publish --to s3:// (moto_server)', () => {
  const env = () => ({ AWS_ENDPOINT_URL_S3: moto.endpoint });
  itPublishesThrough({
    url: () => `s3://${BUCKET}/fleet/registry-${++objects}.json`,
    open: (url) => {
      const location = parseRegistryUrl(url);
      if (location.kind !== 's3') throw new Error(`not s3: ${url}`);
      return createS3RegistryStore(url, location, createRegistryS3Client(env()));
    },
    env,
  });

  it('asks for server-side encryption on every write', async () => {
    // given
    moto.resetCalls();
    const url = `s3://${BUCKET}/fleet/encrypted.json`;
    const store = createS3RegistryStore(
      url,
      { bucket: BUCKET, key: 'fleet/encrypted.json' },
      createRegistryS3Client(env()),
    );

    // when
    await store.write('text');

    // then
    const { ServerSideEncryption } = await new S3Client({
      endpoint: moto.endpoint,
      forcePathStyle: true,
    }).send(
      new (await import('@aws-sdk/client-s3')).HeadObjectCommand({
        Bucket: BUCKET,
        Key: 'fleet/encrypted.json',
      }),
    );
    expect(ServerSideEncryption).toBe('AES256');
  });
});
