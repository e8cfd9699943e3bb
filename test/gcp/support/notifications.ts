import type { FakeSecretManager } from './secret-manager-server.js';

/**
 * A Secret Manager notification exactly as the documentation describes it: attributes
 * `eventType`, `secretId` (by project number), `versionId` (version events), `dataFormat`
 * `JSON_API_V1`, `timestamp`, and `data` the JSON of the Secret or SecretVersion resource.
 */
export function secretManagerMessage(
  store: Pick<FakeSecretManager, 'projectNumber'>,
  eventType: string,
  secret: string,
  version?: number,
  state = 'ENABLED',
): { data: Buffer; attributes: Record<string, string> } {
  const secretName = `projects/${store.projectNumber}/secrets/${secret}`;
  const now = new Date().toISOString();
  const attributes: Record<string, string> = {
    eventType,
    secretId: secretName,
    dataFormat: 'JSON_API_V1',
    timestamp: now,
  };
  const resource =
    version === undefined
      ? { name: secretName, replication: { automatic: {} }, createTime: now, etag: '"1"' }
      : { name: `${secretName}/versions/${version}`, createTime: now, state, etag: '"1"' };
  if (version !== undefined) attributes['versionId'] = `${secretName}/versions/${version}`;
  return { data: Buffer.from(JSON.stringify(resource)), attributes };
}
