import { randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  type GetSecretValueCommandInput,
} from '@aws-sdk/client-secrets-manager';
import type { SecretSource, SecretValue, Logger } from '../../core/ports.js';
import { SecretNotFoundError } from '../../core/errors.js';
import type { SourceSpecOf } from '../../registry/schema.js';
import { sameSecret } from './arn.js';
import { assumeRoleCredentials } from './assume-role.js';
import { toStoreError } from './errors.js';

export { KmsDecryptionError, toStoreError } from './errors.js';
export { parseSecretArn, sameSecret, secretArnPattern, secretNameOf } from './arn.js';
export { assumeRoleCredentials } from './assume-role.js';

export const AWSCURRENT = 'AWSCURRENT';
/** Staging labels (`AWSCURRENT`, `AWSPREVIOUS`, custom labels in capitals) are read by stage, anything else by version id. */
const STAGE_LABEL = /^AWS[A-Z]+$/;

export interface AwsSourceOptions {
  /** The registry name of this source. */
  name: string;
  client: SecretsManagerClient;
  /** The source's region: a bare name only matches ARNs in this region. */
  region?: string;
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The `aws` source over Secrets Manager. Reads the AWSCURRENT version (or a pinned
 * version id / staging label), rotates with RotateSecret and writes generated versions
 * with PutSecretValue. SDK failures become typed errors without values.
 */
export function createAwsSource(options: AwsSourceOptions): SecretSource {
  const { client, name, region } = options;

  async function read(key: string, readOptions: { version?: string } = {}): Promise<SecretValue> {
    const version = readOptions.version ?? AWSCURRENT;
    const input: GetSecretValueCommandInput = STAGE_LABEL.test(version)
      ? { SecretId: key, VersionStage: version }
      : { SecretId: key, VersionId: version };
    let out;
    try {
      out = await client.send(new GetSecretValueCommand(input));
    } catch (error) {
      throw toStoreError(error, 'GetSecretValue', key);
    }
    if (out.VersionId === undefined) {
      throw toStoreError(
        new SecretNotFoundError(`Secrets Manager GetSecretValue on "${key}": the answer named no version`),
        'GetSecretValue',
        key,
      );
    }
    const bytes =
      out.SecretBinary ?? (out.SecretString === undefined ? undefined : utf8.encode(out.SecretString));
    if (bytes === undefined) {
      throw new SecretNotFoundError(
        `Secrets Manager GetSecretValue on "${key}": version ${out.VersionId} has no value`,
      );
    }
    const value: SecretValue = {
      versionId: out.VersionId,
      bytes,
      contentType: out.SecretBinary === undefined ? 'text/plain' : 'application/octet-stream',
    };
    if (out.CreatedDate !== undefined) value.createdAt = out.CreatedDate;
    return value;
  }

  async function currentVersion(key: string): Promise<string> {
    let out;
    try {
      out = await client.send(new DescribeSecretCommand({ SecretId: key }));
    } catch (error) {
      throw toStoreError(error, 'DescribeSecret', key);
    }
    const current = Object.entries(out.VersionIdsToStages ?? {}).find(([, stages]) =>
      stages.includes(AWSCURRENT),
    );
    if (current === undefined)
      throw new SecretNotFoundError(
        `Secrets Manager DescribeSecret on "${key}": no version is ${AWSCURRENT}`,
      );
    return current[0];
  }

  async function rotate(key: string): Promise<void> {
    try {
      await client.send(new RotateSecretCommand({ SecretId: key, ClientRequestToken: randomUUID() }));
    } catch (error) {
      throw toStoreError(error, 'RotateSecret', key);
    }
  }

  async function writeVersion(key: string, bytes: Uint8Array): Promise<{ versionId: string }> {
    let text: string | undefined;
    try {
      text = strictUtf8.decode(bytes);
    } catch {
      text = undefined;
    }
    try {
      const out = await client.send(
        new PutSecretValueCommand({
          SecretId: key,
          ClientRequestToken: randomUUID(),
          ...(text === undefined ? { SecretBinary: bytes } : { SecretString: text }),
        }),
      );
      if (out.VersionId === undefined) throw new Error('PutSecretValue returned no VersionId');
      return { versionId: out.VersionId };
    } catch (error) {
      throw toStoreError(error, 'PutSecretValue', key);
    }
  }

  return {
    provider: 'aws',
    name,
    read,
    refersTo: (key, changeRef) => sameSecret(key, changeRef, region),
    currentVersion,
    rotate,
    writeVersion,
  };
}

/**
 * Builds the Secrets Manager client for a registry source: its region, optional endpoint
 * (tests, VPC endpoints) and optional role to assume. Credentials otherwise come from the
 * default chain (the Lambda role).
 */
export function createSecretsManagerClient(spec: SourceSpecOf<'aws'>): SecretsManagerClient {
  return new SecretsManagerClient({
    region: spec.region,
    ...(spec.endpoint === undefined ? {} : { endpoint: spec.endpoint }),
    ...(spec.roleArn === undefined
      ? {}
      : {
          credentials: assumeRoleCredentials({
            roleArn: spec.roleArn,
            // The SDK honours AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL for STS (VPC endpoints, tests).
            sts: { region: spec.region },
          }),
        }),
  });
}

/** The `SourceFactories.aws` entry for `createRuntime`. */
export function awsSourceFactory(
  spec: SourceSpecOf<'aws'>,
  _ctx: { baseDir: string; logger: Logger },
): SecretSource {
  return createAwsSource({ name: spec.name, client: createSecretsManagerClient(spec), region: spec.region });
}
