import type { ChangeKind, NormalizedEvent } from '../core/change.js';
import { InvalidEventError } from '../core/errors.js';
import { describeValue, isIsoTime, isRecord, lookup, own, ownRecord } from './fields.js';

/**
 * Vault Enterprise event notifications (`vault events subscribe kv-v2/*`, CloudEvents
 * JSON). Open-source Vault has no events: its changes come from `pollVault` in
 * shared/sources/vault, which builds SecretChanges directly.
 */
const kinds: Readonly<Record<string, ChangeKind>> = {
  'kv-v2/data-write': 'version-current',
  'kv-v2/data-patch': 'version-current',
  'kv-v2/undelete': 'version-current',
  'kv-v2/rollback': 'version-current',
  'kv-v2/delete': 'version-disabled',
  'kv-v2/destroy': 'version-disabled',
  'kv-v2/metadata-delete': 'deleted',
};

/** A string field that must be present and not blank. */
function requiredText(record: Record<string, unknown>, key: string, at: string): string {
  const value = own(record, key);
  if (typeof value !== 'string')
    throw new InvalidEventError(
      `vault event: ${at} is ${value === undefined ? 'missing' : `${describeValue(value)}, expected a string`}`,
    );
  if (value.trim() === '') throw new InvalidEventError(`vault event: ${at} must not be empty`);
  return value;
}

/** `secret/data/app/db` and `secret/metadata/app/db` both name `secret/app/db`. */
function secretRefOf(path: string, mount: string | undefined): string {
  const trimmed = path.replace(/^\/+/, '');
  if (mount === undefined || !trimmed.startsWith(`${mount}/`)) return trimmed;
  const rest = trimmed.slice(mount.length + 1).replace(/^(data|metadata|delete|destroy|undelete)\//, '');
  return rest.replace(/\/+$/, '') === '' ? '' : `${mount}/${rest}`;
}

/** The event id: `data.event.id`, else the CloudEvent's `id`. */
function eventIdOf(raw: Record<string, unknown>, event: Record<string, unknown>): string {
  if (own(event, 'id') !== undefined) return requiredText(event, 'id', 'data.event.id');
  if (own(raw, 'id') !== undefined) return requiredText(raw, 'id', 'id');
  throw new InvalidEventError('vault event: no event id (data.event.id or id)');
}

/** The CloudEvent `time`; Vault always sends one, an event without it keeps the epoch. */
function timeOf(raw: Record<string, unknown>): string {
  const time = own(raw, 'time');
  if (time === undefined) return new Date(0).toISOString();
  if (typeof time !== 'string' || !isIsoTime(time))
    throw new InvalidEventError(
      `vault event: time is ${typeof time === 'string' ? `"${time.slice(0, 64)}"` : describeValue(time)}, expected an ISO-8601 time`,
    );
  return time;
}

/**
 * Normalises one Vault event notification. Pure. Malformed input throws
 * `InvalidEventError` naming the field; event types that change no value are `{ ignored }`.
 */
export function normalizeVaultEvent(raw: unknown): NormalizedEvent {
  const data = isRecord(raw) ? ownRecord(raw, 'data') : undefined;
  if (!isRecord(raw) || data === undefined)
    throw new InvalidEventError('vault event: expected a CloudEvents object with a "data" object');
  const eventType = own(data, 'event_type');
  if (typeof eventType !== 'string') throw new InvalidEventError('vault event: data.event_type is missing');
  const kind = lookup(kinds, eventType);
  if (kind === undefined) return { ignored: `vault event type ${eventType} does not change a secret value` };
  const event = ownRecord(data, 'event') ?? {};
  const metadata = ownRecord(event, 'metadata');
  if (metadata === undefined) throw new InvalidEventError('vault event: data.event.metadata.path is missing');
  const path = requiredText(metadata, 'path', 'data.event.metadata.path');
  const plugin = ownRecord(data, 'plugin_info') ?? {};
  const mountPath = own(plugin, 'mount_path');
  const mount = typeof mountPath === 'string' ? mountPath.replace(/\/+$/, '') : undefined;
  const secretRef = secretRefOf(path, mount);
  if (secretRef === '')
    throw new InvalidEventError(
      `vault event: data.event.metadata.path names no secret${mount === undefined ? '' : ` under mount ${mount}`}`,
    );
  const id = eventIdOf(raw, event);
  const version = own(metadata, 'current_version');
  return {
    changes: [
      {
        provider: 'vault',
        secretRef,
        ...(typeof version === 'string' && version.trim() !== '' && kind === 'version-current'
          ? { versionId: version }
          : {}),
        kind,
        eventId: id,
        time: timeOf(raw),
        origin: `vault/${eventType}`,
      },
    ],
  };
}
