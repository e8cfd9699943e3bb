import { createServer, type Server } from 'node:http';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AccessDeniedError,
  SecretNotFoundError,
  StoreError,
  ThrottledError,
} from '../../shared/core/errors.js';
import {
  createAwsSource,
  KmsDecryptionError,
  sameSecret,
  secretArnPattern,
} from '../../shared/sources/aws/index.js';
import { startMoto, type Moto } from './support/moto.js';

const CANARY = 'canary-value-9f8e7d';
let moto: Moto;
let client: SecretsManagerClient;

beforeAll(async () => {
  moto = await startMoto();
  client = new SecretsManagerClient({
    region: moto.region,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
});
afterAll(async () => {
  client.destroy();
  await moto.stop();
});

const text = new TextDecoder();
let counter = 0;
const uniqueName = (prefix: string) => `${prefix}/secret-${++counter}-${Date.now()}`;

describe('aws source over Secrets Manager (moto)', () => {
  it('reads the AWSCURRENT value with its version id and created date', async () => {
    // given
    const name = uniqueName('app');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: '{"password":"one"}' }));
    const second = await client.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: '{"password":"two"}' }),
    );
    const source = createAwsSource({ name: 'aws-main', client, region: moto.region });

    // when
    const value = await source.read(name);

    // then
    expect(text.decode(value.bytes)).toBe('{"password":"two"}');
    expect(value.versionId).toBe(second.VersionId);
    expect(value.createdAt).toBeInstanceOf(Date);
  });

  it('never reads an AWSPENDING version as current', async () => {
    // given
    const name = uniqueName('pending');
    const created = await client.send(new CreateSecretCommand({ Name: name, SecretString: 'current' }));
    await client.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: 'pending', VersionStages: ['AWSPENDING'] }),
    );
    const source = createAwsSource({ name: 'aws-main', client });

    // when
    const value = await source.read(name);

    // then
    expect(text.decode(value.bytes)).toBe('current');
    expect(value.versionId).toBe(created.VersionId);
  });

  it('reads binary secrets as bytes and a pinned version by id', async () => {
    // given
    const name = uniqueName('bin');
    const bytes = new Uint8Array([0, 255, 1, 254, 128]);
    const first = await client.send(new CreateSecretCommand({ Name: name, SecretBinary: bytes }));
    await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'newer' }));
    const source = createAwsSource({ name: 'aws-main', client });

    // when
    const pinned = await source.read(name, { version: first.VersionId ?? '' });

    // then
    expect([...pinned.bytes]).toEqual([...bytes]);
    expect(pinned.versionId).toBe(first.VersionId);
  });

  it('reports the current version id without reading the value', async () => {
    // given
    const name = uniqueName('describe');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'a' }));
    const next = await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'b' }));
    const source = createAwsSource({ name: 'aws-main', client });

    // when
    const version = await source.currentVersion?.(name);

    // then
    expect(version).toBe(next.VersionId);
  });

  it('writes a generated version that becomes AWSCURRENT', async () => {
    // given
    const name = uniqueName('write');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'old' }));
    const source = createAwsSource({ name: 'aws-main', client });

    // when
    const written = await source.writeVersion?.(name, new TextEncoder().encode('{"password":"generated"}'));
    const value = await source.read(name);

    // then
    expect(value.versionId).toBe(written?.versionId);
    expect(text.decode(value.bytes)).toBe('{"password":"generated"}');
  });

  it('follows a staging label moved by UpdateSecretVersionStage', async () => {
    // given
    const name = uniqueName('stage');
    const first = await client.send(new CreateSecretCommand({ Name: name, SecretString: 'first' }));
    const pending = await client.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: 'second', VersionStages: ['AWSPENDING'] }),
    );
    const source = createAwsSource({ name: 'aws-main', client });

    // when
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: name,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: pending.VersionId,
        RemoveFromVersionId: first.VersionId,
      }),
    );

    // then
    expect((await source.read(name)).versionId).toBe(pending.VersionId);
  });

  it('treats a secret scheduled for deletion as not found', async () => {
    // given
    const name = uniqueName('deleted');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'bye' }));
    await client.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    const source = createAwsSource({ name: 'aws-main', client });

    // when
    const failure = source.read(name);

    // then
    await expect(failure).rejects.toBeInstanceOf(SecretNotFoundError);
  });

  it('throws SecretNotFoundError for an unknown secret, naming it and nothing else', async () => {
    // given
    const source = createAwsSource({ name: 'aws-main', client });

    // when
    const failure = source.read('does/not/exist');

    // then
    await expect(failure).rejects.toBeInstanceOf(SecretNotFoundError);
    await expect(failure).rejects.toThrow(/does\/not\/exist/);
  });
});

describe('aws source error mapping (local server speaking the Secrets Manager JSON protocol)', () => {
  let server: Server;
  let endpoint: string;
  let reply: { status: number; type: string } = { status: 400, type: 'AccessDeniedException' };

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        // The message echoes a canary to prove the adapter never forwards SDK messages.
        res.writeHead(reply.status, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-errortype': reply.type,
        });
        res.end(JSON.stringify({ __type: reply.type, message: `value was ${CANARY}` }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    endpoint = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it.each([
    { status: 400, type: 'AccessDeniedException', error: AccessDeniedError, retryable: false },
    { status: 400, type: 'DecryptionFailure', error: KmsDecryptionError, retryable: false },
    { status: 400, type: 'ThrottlingException', error: ThrottledError, retryable: true },
    { status: 500, type: 'InternalServiceError', error: StoreError, retryable: true },
    { status: 400, type: 'ResourceNotFoundException', error: SecretNotFoundError, retryable: false },
  ])(
    'maps $type to $error.name (retryable: $retryable) without the SDK message',
    async ({ status, type, error, retryable }) => {
      // given
      reply = { status, type };
      const failing = new SecretsManagerClient({
        region: 'eu-west-1',
        endpoint,
        maxAttempts: 1,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      });
      const source = createAwsSource({ name: 'aws-main', client: failing });

      // when
      const thrown = await source.read('prod/db').then(
        () => undefined,
        (e: unknown) => e,
      );
      failing.destroy();

      // then
      expect(thrown).toBeInstanceOf(error);
      expect((thrown as StoreError).retryable).toBe(retryable);
      expect(String((thrown as Error).message)).not.toContain(CANARY);
      expect(String((thrown as Error).message)).toContain('prod/db');
    },
  );
});

describe('secret references', () => {
  const full = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbC123';
  const partial = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db';
  it.each([
    ['name vs full ARN', 'prod/db', full, true],
    ['full ARN vs name', full, 'prod/db', true],
    ['partial ARN vs full ARN', partial, full, true],
    ['full ARN vs itself', full, full, true],
    ['name vs name', 'prod/db', 'prod/db', true],
    ['other name', 'prod/db2', full, false],
    ['name prefix is not a match', 'prod/d', full, false],
    ['other region', 'prod/db', full.replace('eu-west-1', 'us-east-1'), false],
    ['other account', partial.replace('123456789012', '210987654321'), full, false],
    ['name whose suffix is not 6 characters', 'prod/db', `${partial}-AbC12`, false],
  ])('%s: %s vs %s matches = %s', (_label, key, ref, expected) => {
    // given / when / then
    expect(sameSecret(key, ref, 'eu-west-1')).toBe(expected);
  });

  it('turns names into ARN patterns with the random suffix wildcard', () => {
    // given
    const scope = { partition: 'aws', region: 'eu-west-1', account: '123456789012' };

    // when / then
    expect(secretArnPattern('prod/db', scope)).toBe(
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-??????',
    );
    expect(secretArnPattern(full, scope)).toBe(full);
    expect(secretArnPattern(partial, scope)).toBe(`${partial}-??????`);
  });
});
