import { ChangeKind, Provider, type NormalizedEvent, type SecretChange } from '../core/change.js';
import { InvalidEventError } from '../core/errors.js';
import { isIsoTime, isRecord } from './fields.js';

/**
 * Azure Key Vault events delivered by Event Grid, in the Event Grid schema
 * (`eventType`, `eventTime`, `topic`) or the CloudEvents 1.0 schema (`type`, `time`,
 * `source`, `specversion`). Pure: no I/O, no clock.
 *
 * Wire realities handled here: data keys arrive capitalised (`VaultName`, `NBF`) in the
 * current documentation and camelCase in older deliveries (one revision even shows
 * `"objectName "` with a trailing space), numbers (`NBF`, `EXP`) arrive as strings,
 * webhook deliveries are arrays while the Functions trigger passes one event, and
 * an HTTP endpoint first receives a subscription-validation event.
 */

const KEY_VAULT_PREFIX = 'Microsoft.KeyVault.';
const SUBSCRIPTION_VALIDATION = 'Microsoft.EventGrid.SubscriptionValidationEvent';
const SUBSCRIPTION_DELETED = 'Microsoft.EventGrid.SubscriptionDeletedEvent';

/** Key Vault secret event types and what they mean for us. */
export const KeyVaultSecretEventType = {
  NewVersionCreated: 'Microsoft.KeyVault.SecretNewVersionCreated',
  NearExpiry: 'Microsoft.KeyVault.SecretNearExpiry',
  Expired: 'Microsoft.KeyVault.SecretExpired',
} as const;
export type KeyVaultSecretEventType = (typeof KeyVaultSecretEventType)[keyof typeof KeyVaultSecretEventType];
/** The event types the Event Grid subscription should be filtered to (infra uses this list too). */
export const KEY_VAULT_SECRET_EVENT_TYPES: readonly KeyVaultSecretEventType[] =
  Object.values(KeyVaultSecretEventType);

const KIND_OF: Record<KeyVaultSecretEventType, ChangeKind> = {
  [KeyVaultSecretEventType.NewVersionCreated]: ChangeKind.VersionCurrent,
  [KeyVaultSecretEventType.NearExpiry]: ChangeKind.NearExpiry,
  [KeyVaultSecretEventType.Expired]: ChangeKind.Expired,
};

/** Looks a key up ignoring case and surrounding spaces (`VaultName`, `vaultName`, `"objectName "`). */
function field(record: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(record, name)) return record[name];
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(record)) {
    if (key.trim().toLowerCase() === wanted) return value;
  }
  return undefined;
}

function text(record: Record<string, unknown>, name: string): string | undefined {
  const value = field(record, name);
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** The payload as delivered: JSON text, one event, or an array (batch) of events. */
function toEvents(raw: unknown): unknown[] {
  let value = raw;
  if (typeof value === 'string' || value instanceof Uint8Array) {
    const textValue = typeof value === 'string' ? value : new TextDecoder().decode(value);
    try {
      value = JSON.parse(textValue) as unknown;
    } catch {
      throw new InvalidEventError('azure event payload is not valid JSON');
    }
  }
  if (Array.isArray(value)) {
    if (value.length === 0)
      throw new InvalidEventError(
        'azure event payload is an empty batch (expected at least one Event Grid event)',
      );
    return value;
  }
  return [value];
}

interface Envelope {
  schema: 'eventgrid' | 'cloudevents';
  id: string;
  type: string;
  time: string;
  /** Event Grid `topic` / CloudEvents `source`: the vault's resource id for system topics. */
  topic: string | undefined;
  subject: string | undefined;
  data: unknown;
}

function envelopeOf(event: unknown, index: number): Envelope {
  const at = `azure event [${index}]`;
  if (!isRecord(event))
    throw new InvalidEventError(
      `${at} is not an object (got ${Array.isArray(event) ? 'a list' : typeof event})`,
    );
  const cloud = field(event, 'specversion') !== undefined;
  const type = text(event, cloud ? 'type' : 'eventType');
  if (type === undefined) {
    throw new InvalidEventError(
      `${at} has no ${cloud ? '"type"' : '"eventType"'} (expected an Event Grid or CloudEvents 1.0 event)`,
    );
  }
  const id = text(event, 'id');
  if (id === undefined) throw new InvalidEventError(`${at} (${type}) has no "id"`);
  const rawTime = text(event, cloud ? 'time' : 'eventTime');
  if (rawTime === undefined || !isIsoTime(rawTime)) {
    throw new InvalidEventError(
      `${at} (${type}, id ${id}) has no valid ${cloud ? '"time"' : '"eventTime"'} (expected ISO-8601)`,
    );
  }
  return {
    schema: cloud ? 'cloudevents' : 'eventgrid',
    id,
    type,
    time: new Date(rawTime).toISOString(),
    topic: text(event, cloud ? 'source' : 'topic'),
    subject: text(event, 'subject'),
    data: field(event, 'data'),
  };
}

/** `/subscriptions/../providers/Microsoft.KeyVault/vaults/<vault>` -> `<vault>`. */
function vaultFromTopic(topic: string | undefined): string | undefined {
  const match = topic === undefined ? null : /\/providers\/Microsoft\.KeyVault\/vaults\/([^/]+)/i.exec(topic);
  return match?.[1];
}

/**
 * `https://<vault>.vault.azure.net/secrets/<name>[/<version>]` -> its parts. A name that
 * is not valid percent-encoding (`new%secret`) is a malformed event, not a crash.
 */
function parseSecretId(
  id: string | undefined,
  at: string,
): {
  vault?: string;
  host?: string;
  name?: string;
  version?: string;
} {
  if (id === undefined) return {};
  let url: URL;
  try {
    url = new URL(id);
  } catch {
    return {};
  }
  const parts = url.pathname.split('/').filter((p) => p !== '');
  const out: { vault?: string; host?: string; name?: string; version?: string } = {
    host: url.hostname.toLowerCase(),
  };
  const vault = url.hostname.split('.')[0];
  if (vault !== undefined && vault !== '') out.vault = vault.toLowerCase();
  if (parts[0]?.toLowerCase() === 'secrets' && parts[1] !== undefined) {
    try {
      out.name = decodeURIComponent(parts[1]);
    } catch {
      throw new InvalidEventError(`${at}: data.Id holds a malformed percent-escape in the secret name`);
    }
    if (parts[2] !== undefined) out.version = parts[2];
  }
  return out;
}

/** NBF / EXP: seconds since the epoch, as a number or (on the wire) a numeric string. */
function epochSeconds(data: Record<string, unknown>, name: string, at: string): number | undefined {
  const value = field(data, name);
  if (value === undefined || value === null || value === '') return undefined;
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)
        ? Number(value)
        : Number.NaN;
  if (!Number.isFinite(n))
    throw new InvalidEventError(`${at}: data.${name} must be seconds since the epoch (got ${typeof value})`);
  return n;
}

function toChange(envelope: Envelope, type: KeyVaultSecretEventType, index: number): SecretChange {
  const at = `azure event [${index}] (${type}, id ${envelope.id})`;
  if (!isRecord(envelope.data)) throw new InvalidEventError(`${at} has no "data" object`);
  const data = envelope.data;
  const objectType = text(data, 'ObjectType');
  if (objectType !== undefined && objectType.toLowerCase() !== 'secret') {
    throw new InvalidEventError(
      `${at}: data.ObjectType is "${objectType}" but the event type is a Secret event`,
    );
  }
  const fromId = parseSecretId(text(data, 'Id'), at);
  const name = text(data, 'ObjectName') ?? fromId.name ?? envelope.subject;
  const vault = (text(data, 'VaultName') ?? fromId.vault ?? vaultFromTopic(envelope.topic))?.toLowerCase();
  if (name === undefined || vault === undefined) {
    throw new InvalidEventError(
      `${at} does not name the secret (expected data.VaultName and data.ObjectName, or data.Id)`,
    );
  }
  // Validated so a malformed event is rejected here, not halfway through a rollout.
  epochSeconds(data, 'NBF', at);
  epochSeconds(data, 'EXP', at);

  const change: SecretChange = {
    provider: Provider.Azure,
    secretRef: `${vault}/${name}`,
    kind: KIND_OF[type],
    eventId: envelope.id,
    time: envelope.time,
    origin: `azure.keyvault/${type.slice(KEY_VAULT_PREFIX.length)}`,
    location: { vault: fromId.host ?? `${vault}.vault.azure.net` },
  };
  const version = text(data, 'Version') ?? fromId.version;
  if (version !== undefined) change.versionId = version;
  return change;
}

function isSecretEventType(type: string): type is KeyVaultSecretEventType {
  return (KEY_VAULT_SECRET_EVENT_TYPES as readonly string[]).includes(type);
}

/**
 * Normalises one Event Grid delivery (one event or a batch, either schema).
 * Secret events become changes; handshake, key, certificate and unknown events are
 * ignored with their reason. Throws `InvalidEventError` for malformed input, naming
 * the event's index, type and id.
 */
export function normalizeAzureEvent(raw: unknown): NormalizedEvent {
  const events = toEvents(raw);
  const changes: SecretChange[] = [];
  const ignored: string[] = [];
  events.forEach((event, index) => {
    const envelope = envelopeOf(event, index);
    if (isSecretEventType(envelope.type)) {
      changes.push(toChange(envelope, envelope.type, index));
    } else if (envelope.type === SUBSCRIPTION_VALIDATION) {
      ignored.push(`Event Grid subscription validation handshake (event ${envelope.id})`);
    } else if (envelope.type === SUBSCRIPTION_DELETED) {
      ignored.push(`Event Grid subscription deleted (event ${envelope.id})`);
    } else if (envelope.type.startsWith(KEY_VAULT_PREFIX)) {
      ignored.push(`${envelope.type} is not a secret event (event ${envelope.id})`);
    } else {
      ignored.push(`${envelope.type} is not a Key Vault event (event ${envelope.id})`);
    }
  });
  if (changes.length > 0) return { changes };
  return { ignored: ignored.join('; ') };
}

/**
 * For an HTTP (webhook) endpoint: the body to answer Event Grid's subscription
 * validation handshake with (`{ validationResponse }`, HTTP 200), or undefined when
 * the delivery is not a handshake. The Functions Event Grid trigger does this itself.
 */
export function subscriptionValidationResponse(raw: unknown): { validationResponse: string } | undefined {
  let events: unknown[];
  try {
    events = toEvents(raw);
  } catch {
    return undefined;
  }
  for (const event of events) {
    if (!isRecord(event)) continue;
    const type = text(event, 'eventType') ?? text(event, 'type');
    const data = field(event, 'data');
    if (type !== SUBSCRIPTION_VALIDATION || !isRecord(data)) continue;
    const code = text(data, 'validationCode');
    if (code !== undefined) return { validationResponse: code };
  }
  return undefined;
}

/**
 * For an HTTP endpoint receiving the CloudEvents schema: Event Grid validates with the
 * CloudEvents abuse-protection handshake (an OPTIONS request carrying
 * `WebHook-Request-Origin`). Returns the headers to answer it with, or undefined.
 */
export function cloudEventsValidationHeaders(
  requestHeaders: Readonly<Record<string, string | undefined>>,
): Record<string, string> | undefined {
  const origin = Object.entries(requestHeaders).find(
    ([k]) => k.toLowerCase() === 'webhook-request-origin',
  )?.[1];
  if (origin === undefined || origin.trim() === '') return undefined;
  return { 'WebHook-Allowed-Origin': origin.trim(), 'WebHook-Allowed-Rate': '*' };
}
