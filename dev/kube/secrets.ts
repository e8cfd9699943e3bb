/**
 * What the real API server checks on a Secret beyond its name and keys: the keys each
 * built-in `type` requires, JSON in docker config Secrets, the 1 MiB limit, a `type` that
 * never changes, and `immutable: true` freezing `data` and the flag itself. Messages follow
 * the real server's field errors; a value is never echoed (the real server redacts it too).
 */
import type { Json, JsonObject } from './patch.js';
import { isObject } from './patch.js';

/** A field error as the Status `details.causes` carries it. */
export interface Cause {
  reason: string;
  message: string;
  field: string;
  [key: string]: Json;
}

const MAX_SECRET_BYTES = 1024 * 1024;

const required = (key: string): Cause => ({
  reason: 'FieldValueRequired',
  message: 'Required value',
  field: `data[${key}]`,
});

const decoded = (data: JsonObject, key: string): string | undefined => {
  const value = data[key];
  return typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : undefined;
};

/** The keys (and their format) a built-in Secret type requires. */
function typeCauses(type: string, data: JsonObject, annotations: JsonObject): Cause[] {
  const has = (key: string): boolean => Object.hasOwn(data, key);
  const jsonKey = (key: string): Cause[] => {
    if (!has(key)) return [required(key)];
    try {
      JSON.parse(decoded(data, key) ?? '');
      return [];
    } catch {
      return [
        {
          reason: 'FieldValueInvalid',
          message: 'Invalid value: "<secret contents redacted>": not valid JSON',
          field: `data[${key}]`,
        },
      ];
    }
  };
  switch (type) {
    case 'kubernetes.io/tls':
      return ['tls.crt', 'tls.key'].filter((k) => !has(k)).map(required);
    case 'kubernetes.io/dockerconfigjson':
      return jsonKey('.dockerconfigjson');
    case 'kubernetes.io/dockercfg':
      return jsonKey('.dockercfg');
    case 'kubernetes.io/basic-auth':
      // Either may be empty, but one of the two must be there.
      return has('username') || has('password') ? [] : [required('username'), required('password')];
    case 'kubernetes.io/ssh-auth':
      return has('ssh-privatekey') ? [] : [required('ssh-privatekey')];
    case 'kubernetes.io/service-account-token':
      return typeof annotations['kubernetes.io/service-account.name'] === 'string'
        ? []
        : [
            {
              reason: 'FieldValueRequired',
              message: 'Required value',
              field: 'metadata.annotations[kubernetes.io/service-account.name]',
            },
          ];
    default:
      return [];
  }
}

/** Field errors of a Secret body (`data` already holds `stringData`), on create and update. */
export function secretCauses(body: JsonObject): Cause[] {
  const data = isObject(body.data) ? body.data : {};
  const metadata = isObject(body.metadata) ? body.metadata : {};
  const annotations = isObject(metadata.annotations) ? metadata.annotations : {};
  const type = typeof body.type === 'string' && body.type !== '' ? body.type : 'Opaque';
  const causes = typeCauses(type, data, annotations);
  let size = 0;
  for (const [key, value] of Object.entries(data))
    size += key.length + (typeof value === 'string' ? Buffer.byteLength(value, 'base64') : 0);
  if (size > MAX_SECRET_BYTES)
    causes.push({
      reason: 'FieldValueTooLong',
      message: `Too long: must have at most ${MAX_SECRET_BYTES} bytes`,
      field: 'data',
    });
  return causes;
}

/** Field errors of replacing `current` by `next`: the type and an immutable Secret's content never change. */
export function secretUpdateCauses(current: JsonObject, next: JsonObject): Cause[] {
  const causes: Cause[] = [];
  const typeOf = (s: JsonObject): string => (typeof s.type === 'string' && s.type !== '' ? s.type : 'Opaque');
  if (typeOf(next) !== typeOf(current))
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: "${typeOf(next)}": field is immutable`,
      field: 'type',
    });
  if (current.immutable === true) {
    const frozen = 'Forbidden: field is immutable when `immutable` is set';
    if (JSON.stringify(next.data ?? {}) !== JSON.stringify(current.data ?? {}))
      causes.push({ reason: 'FieldValueForbidden', message: frozen, field: 'data' });
    if (next.immutable !== true)
      causes.push({ reason: 'FieldValueForbidden', message: frozen, field: 'immutable' });
  }
  return causes;
}
