import type { ChangeKind, NormalizedEvent } from '../core/change.js';
import { InvalidEventError } from '../core/errors.js';

/**
 * Vault Enterprise event notifications (`vault events subscribe kv-v2/*`, CloudEvents
 * JSON). Open-source Vault has no events: its changes come from `pollVault` in
 * shared/sources/vault, which builds SecretChanges directly.
 */
const kinds: Record<string, ChangeKind | undefined> = {
  'kv-v2/data-write': 'version-current',
  'kv-v2/data-patch': 'version-current',
  'kv-v2/undelete': 'version-current',
  'kv-v2/rollback': 'version-current',
  'kv-v2/delete': 'version-disabled',
  'kv-v2/destroy': 'version-disabled',
  'kv-v2/metadata-delete': 'deleted',
};

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function normalizeVaultEvent(raw: unknown): NormalizedEvent {
  if (!isObject(raw) || !isObject(raw['data']))
    throw new InvalidEventError('vault event: expected a CloudEvents object with a "data" object');
  const data = raw['data'];
  const eventType = data['event_type'];
  if (typeof eventType !== 'string') throw new InvalidEventError('vault event: data.event_type is missing');
  const kind = kinds[eventType];
  if (kind === undefined) return { ignored: `vault event type ${eventType} does not change a secret value` };
  const event = data['event'];
  const metadata = isObject(event) ? event['metadata'] : undefined;
  if (!isObject(metadata) || typeof metadata['path'] !== 'string')
    throw new InvalidEventError('vault event: data.event.metadata.path is missing');
  const plugin = isObject(data['plugin_info']) ? data['plugin_info'] : {};
  const mount =
    typeof plugin['mount_path'] === 'string' ? plugin['mount_path'].replace(/\/+$/, '') : undefined;
  const path = metadata['path'].replace(/^\/+/, '');
  // `secret/data/app/db` and `secret/metadata/app/db` both name `secret/app/db`.
  const secretRef =
    mount !== undefined && path.startsWith(`${mount}/`)
      ? `${mount}/${path.slice(mount.length + 1).replace(/^(data|metadata|delete|destroy|undelete)\//, '')}`
      : path;
  const id =
    isObject(event) && typeof event['id'] === 'string'
      ? event['id']
      : typeof raw['id'] === 'string'
        ? raw['id']
        : undefined;
  if (id === undefined) throw new InvalidEventError('vault event: no event id');
  const version = metadata['current_version'];
  return {
    changes: [
      {
        provider: 'vault',
        secretRef,
        ...(typeof version === 'string' && version !== '' && kind === 'version-current'
          ? { versionId: version }
          : {}),
        kind,
        eventId: id,
        time: typeof raw['time'] === 'string' ? raw['time'] : new Date(0).toISOString(),
        origin: `vault/${eventType}`,
      },
    ],
  };
}
