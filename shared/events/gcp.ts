import type { NormalizedEvent, SecretChange } from '../core/change.js';
import { ChangeKind, Provider } from '../core/change.js';
import { InvalidEventError } from '../core/errors.js';
import { isIsoTime, isRecord, lookup, own } from './fields.js';

/**
 * Google Secret Manager event notifications, delivered through Pub/Sub.
 *
 * Secret Manager publishes one message per change to every topic set on the secret. The
 * message attributes carry `eventType`, `secretId` (the secret's full resource name,
 * by project number), `versionId` (the version's full resource name, for version events),
 * `dataFormat` (`JSON_API_V1`) and `timestamp`; `data` is the base64 JSON of the Secret
 * or SecretVersion resource. The message reaches us in one of three envelopes:
 * - an Eventarc CloudEvent `google.cloud.pubsub.topic.v1.messagePublished`
 *   (`data.message`, `data.subscription`),
 * - a Pub/Sub push request body (`{ message, subscription }`), as push subscriptions and
 *   the emulator send it,
 * - the bare PubsubMessage.
 */

/** The PubsubMessage fields we read, whichever envelope carried it. */
export interface PubsubMessage {
  /** base64 payload; absent for attribute-only messages. */
  data?: string;
  attributes: Record<string, string>;
  messageId: string;
  publishTime?: string;
}

const PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';
const SECRET_NAME = /^projects\/[^/]+\/(?:locations\/[^/]+\/)?secrets\/[^/]+$/;
const VERSION_NAME = /^(projects\/[^/]+\/(?:locations\/[^/]+\/)?secrets\/[^/]+)\/versions\/([^/]+)$/;

/** Secret Manager event types and what each means for the targets. */
const EVENT_KINDS: Readonly<Record<string, SecretChange['kind']>> = {
  SECRET_VERSION_ADD: ChangeKind.VersionCurrent,
  SECRET_VERSION_ENABLE: ChangeKind.VersionCurrent,
  SECRET_VERSION_DISABLE: ChangeKind.VersionDisabled,
  SECRET_VERSION_DESTROY: ChangeKind.VersionDisabled,
  // Delayed destruction disables the version at once; it is destroyed later.
  SECRET_VERSION_DESTROY_SCHEDULED: ChangeKind.VersionDisabled,
  SECRET_ROTATE: ChangeKind.RotateRequested,
  SECRET_DELETE: ChangeKind.Deleted,
};

const IGNORED_REASONS: Readonly<Record<string, string>> = {
  SECRET_CREATE: 'SECRET_CREATE: a new secret has no version yet; its first SECRET_VERSION_ADD propagates it',
  SECRET_UPDATE: 'SECRET_UPDATE: secret metadata changed, not its value',
  TOPIC_CONFIGURED: 'TOPIC_CONFIGURED: test message sent when a topic is set on a secret',
};

function stringField(value: Record<string, unknown>, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const v = own(value, key);
    if (typeof v === 'string' && v.trim() !== '') return v;
  }
  return undefined;
}

function toMessage(raw: Record<string, unknown>, where: string): PubsubMessage {
  const attributesRaw = own(raw, 'attributes') ?? {};
  if (!isRecord(attributesRaw)) throw new InvalidEventError(`${where}.attributes must be a map of strings`);
  for (const [key, value] of Object.entries(attributesRaw)) {
    if (typeof value !== 'string') throw new InvalidEventError(`${where}.attributes.${key} must be a string`);
  }
  // fromEntries defines own properties (a `__proto__` attribute stays data, not a prototype).
  const attributes = Object.fromEntries(Object.entries(attributesRaw)) as Record<string, string>;
  // Push bodies carry both spellings (messageId / message_id); Eventarc the camelCase one.
  const messageId = stringField(raw, 'messageId', 'message_id');
  if (messageId === undefined)
    throw new InvalidEventError(`${where}.messageId is missing: not a Pub/Sub message`);
  const data = own(raw, 'data');
  if (data !== undefined && data !== null && typeof data !== 'string')
    throw new InvalidEventError(`${where}.data must be a base64 string`);
  const publishTime = stringField(raw, 'publishTime', 'publish_time');
  return {
    attributes,
    messageId,
    ...(typeof data === 'string' && data !== '' ? { data } : {}),
    ...(publishTime === undefined ? {} : { publishTime }),
  };
}

/**
 * The Pub/Sub message inside any of the envelopes above. Pure; throws
 * `InvalidEventError` when the payload is none of them.
 */
export function extractPubsubMessage(raw: unknown): PubsubMessage {
  if (!isRecord(raw))
    throw new InvalidEventError(
      `expected a Pub/Sub CloudEvent or push body (an object), got ${raw === null ? 'null' : typeof raw}`,
    );
  const type = own(raw, 'type');
  if (typeof own(raw, 'specversion') === 'string' || typeof type === 'string') {
    if (type !== PUBLISHED) {
      throw new InvalidEventError(
        `CloudEvent type ${typeof type === 'string' ? `"${type.slice(0, 64)}"` : '(missing)'} is not ${PUBLISHED}`,
      );
    }
    const data = own(raw, 'data');
    const message = isRecord(data) ? own(data, 'message') : undefined;
    if (!isRecord(message))
      throw new InvalidEventError('CloudEvent data.message is missing: not a Pub/Sub message');
    return toMessage(message, 'data.message');
  }
  const message = own(raw, 'message');
  if (isRecord(message)) return toMessage(message, 'message');
  if (['attributes', 'messageId', 'message_id'].some((key) => Object.hasOwn(raw, key)))
    return toMessage(raw, 'message');
  throw new InvalidEventError(
    'payload is neither a Pub/Sub CloudEvent, a push body ({ message, subscription }) nor a PubsubMessage',
  );
}

/** Decodes a message's base64 JSON payload; undefined when it has none or it is not JSON. */
export function decodeMessageJson(message: PubsubMessage): unknown {
  if (message.data === undefined) return undefined;
  try {
    return JSON.parse(Buffer.from(message.data, 'base64').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function versionOf(message: PubsubMessage, secretId: string): string | undefined {
  const fromAttribute = lookup(message.attributes, 'versionId');
  if (fromAttribute !== undefined) {
    const match = VERSION_NAME.exec(fromAttribute);
    if (match === null || match[1] !== secretId) {
      throw new InvalidEventError(`versionId "${fromAttribute}" is not a version of ${secretId}`);
    }
    return match[2];
  }
  // Without the attribute, a SecretVersion resource in `data` names the version; a Secret
  // resource (secret-level events) does not.
  const resource = decodeMessageJson(message);
  const name = isRecord(resource) ? own(resource, 'name') : undefined;
  const match = typeof name === 'string' ? VERSION_NAME.exec(name) : null;
  return match !== null && match[1] === secretId ? match[2] : undefined;
}

/** Normalises one Secret Manager notification. Pure. */
export function normalizeGcpEvent(raw: unknown): NormalizedEvent {
  const message = extractPubsubMessage(raw);
  const { attributes } = message;
  const eventType = lookup(attributes, 'eventType');
  if (eventType === undefined || eventType.trim() === '')
    throw new InvalidEventError(
      'message attribute eventType is missing or empty: not a Secret Manager notification',
    );
  const kind = lookup(EVENT_KINDS, eventType);
  if (kind === undefined) {
    return {
      ignored:
        lookup(IGNORED_REASONS, eventType) ?? `${eventType}: not an event that changes what targets hold`,
    };
  }
  const dataFormat = lookup(attributes, 'dataFormat');
  if (dataFormat !== undefined && dataFormat !== 'JSON_API_V1') {
    throw new InvalidEventError(
      `message attribute dataFormat "${dataFormat}" is not supported (expected JSON_API_V1)`,
    );
  }
  const secretId = lookup(attributes, 'secretId');
  if (secretId === undefined) throw new InvalidEventError(`${eventType} message has no secretId attribute`);
  if (!SECRET_NAME.test(secretId)) {
    throw new InvalidEventError(
      `secretId "${secretId}" is not a secret resource name (projects/<project>/secrets/<secret>)`,
    );
  }
  const versionId = versionOf(message, secretId);
  if (eventType.startsWith('SECRET_VERSION_') && versionId === undefined) {
    throw new InvalidEventError(
      `${eventType} message for ${secretId} names no version (no versionId attribute, no SecretVersion in data)`,
    );
  }
  const time = lookup(attributes, 'timestamp') ?? message.publishTime;
  if (time === undefined || !isIsoTime(time)) {
    throw new InvalidEventError(
      `${eventType} message for ${secretId} has no valid timestamp (attributes.timestamp or publishTime, ISO-8601)`,
    );
  }
  const project = secretId.split('/')[1] ?? '';
  return {
    changes: [
      {
        provider: Provider.Gcp,
        secretRef: secretId,
        ...(versionId === undefined ? {} : { versionId }),
        kind,
        eventId: message.messageId,
        time,
        origin: `secretmanager.googleapis.com/${eventType}`,
        location: { project },
      },
    ],
  };
}
