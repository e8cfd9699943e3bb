import { ChangeKind, Provider, type NormalizedEvent, type SecretChange } from '../core/change.js';
import { InvalidEventError } from '../core/errors.js';
import { describeValue as kindOf, isIsoTime, isRecord, lookup, own } from './fields.js';

/**
 * The local store's event (README "Local events"), emitted by `watchLocalSource` and
 * accepted from anything that wants to drive the engine by hand:
 * `{ "type": "secret-version-created", "secret": "prod/database", "version": "3", "id": "...", "time": "..." }`.
 * A JSON list of such objects is a batch.
 */
export interface LocalEvent {
  type: string;
  /** The secret name in the local store. */
  secret: string;
  /** The version the event is about, when there is one. */
  version?: string;
  /** Unique event id (correlation id in logs). */
  id: string;
  /** ISO-8601 time of the change. */
  time: string;
  /** The registry name of the local source, for logs. */
  source?: string;
}

/** Event types that change what targets should hold, and the change each one means. */
export const LOCAL_EVENT_KINDS = {
  'secret-created': ChangeKind.VersionCurrent,
  'secret-version-created': ChangeKind.VersionCurrent,
  'secret-version-current': ChangeKind.VersionCurrent,
  'secret-version-enabled': ChangeKind.VersionCurrent,
  'secret-version-disabled': ChangeKind.VersionDisabled,
  'secret-deleted': ChangeKind.Deleted,
  'secret-near-expiry': ChangeKind.NearExpiry,
  'secret-expired': ChangeKind.Expired,
  'secret-rotate-requested': ChangeKind.RotateRequested,
  'secret-reconcile': ChangeKind.Reconcile,
} as const satisfies Record<string, ChangeKind>;
export type LocalEventType = keyof typeof LOCAL_EVENT_KINDS;

/** Event types that are well-formed but never change a value; they are ignored with a reason. */
export const IGNORED_LOCAL_EVENT_TYPES = ['secret-read', 'secret-metadata-updated', 'store-opened'] as const;

function requiredString(raw: Record<string, unknown>, field: string, at: string, hint: string): string {
  const value = own(raw, field);
  if (value === undefined) throw new InvalidEventError(`${at}.${field}: required (${hint})`);
  if (typeof value !== 'string')
    throw new InvalidEventError(`${at}.${field}: expected a string, got ${kindOf(value)}`);
  if (value.trim() === '') throw new InvalidEventError(`${at}.${field}: must not be empty (${hint})`);
  return value;
}

function toChange(raw: unknown, at: string): SecretChange | string {
  if (!isRecord(raw))
    throw new InvalidEventError(
      `${at}: expected an object with type, secret, id and time, got ${kindOf(raw)}`,
    );
  const type = requiredString(raw, 'type', at, `one of ${Object.keys(LOCAL_EVENT_KINDS).join(', ')}`);
  const kind = lookup<ChangeKind>(LOCAL_EVENT_KINDS, type);
  if (kind === undefined) {
    return (IGNORED_LOCAL_EVENT_TYPES as readonly string[]).includes(type)
      ? `local event type "${type}" does not change secret values`
      : `unknown local event type "${type}" (handled: ${Object.keys(LOCAL_EVENT_KINDS).join(', ')})`;
  }
  const secret = requiredString(raw, 'secret', at, 'the secret name in the local store');
  const id = requiredString(raw, 'id', at, 'a unique event id');
  const time = requiredString(raw, 'time', at, 'an ISO-8601 time such as 2026-01-31T12:00:00Z');
  if (!isIsoTime(time)) {
    throw new InvalidEventError(
      `${at}.time: "${time.slice(0, 64)}" is not an ISO-8601 time (for example 2026-01-31T12:00:00Z)`,
    );
  }
  let version: string | undefined;
  const rawVersion = own(raw, 'version');
  if (typeof rawVersion === 'number' && Number.isInteger(rawVersion)) version = String(rawVersion);
  else if (typeof rawVersion === 'string' && rawVersion.trim() !== '') version = rawVersion;
  else if (rawVersion !== undefined && rawVersion !== null) {
    const got = typeof rawVersion === 'string' ? 'a blank string' : kindOf(rawVersion);
    throw new InvalidEventError(`${at}.version: expected a non-empty string, got ${got}`);
  }
  if (version === undefined && (type === 'secret-version-created' || type === 'secret-version-disabled')) {
    throw new InvalidEventError(
      `${at}.version: required for type "${type}" (the version id the event is about)`,
    );
  }
  const source = own(raw, 'source');
  if (source !== undefined && typeof source !== 'string') {
    throw new InvalidEventError(`${at}.source: expected a string, got ${kindOf(source)}`);
  }
  return {
    provider: Provider.Local,
    secretRef: secret,
    kind,
    eventId: id,
    time: new Date(time).toISOString(),
    origin: source === undefined ? `local/${type}` : `local:${source}/${type}`,
    ...(version === undefined ? {} : { versionId: version }),
  };
}

/**
 * Normalises a local event (or a list of them) into secret changes. Pure. Malformed input
 * throws `InvalidEventError` naming the field; irrelevant types are `{ ignored }`.
 */
export function normalizeLocalEvent(raw: unknown): NormalizedEvent {
  if (Array.isArray(raw)) {
    if (raw.length === 0) return { ignored: 'empty local event batch' };
    const changes: SecretChange[] = [];
    const reasons: string[] = [];
    raw.forEach((item, i) => {
      const result = toChange(item, `event[${i}]`);
      if (typeof result === 'string') reasons.push(result);
      else changes.push(result);
    });
    return changes.length > 0 ? { changes } : { ignored: reasons.join('; ') };
  }
  const result = toChange(raw, 'event');
  return typeof result === 'string' ? { ignored: result } : { changes: [result] };
}
