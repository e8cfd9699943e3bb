/**
 * Field access shared by the event normalisers. Payloads come from outside: a key such
 * as `toString` or `__proto__` must read as absent, never as something inherited from
 * `Object.prototype`, so every lookup goes through `own`.
 */

/** A JSON object (not null, not a list). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value of `key` when `record` holds it itself; undefined for inherited names. */
export function own(record: object, key: string): unknown {
  return Object.hasOwn(record, key) ? (record as Record<string, unknown>)[key] : undefined;
}

/** `table[key]` for a lookup table keyed by event type, never an inherited member. */
export function lookup<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

// Calendar date, `T`, time with optional fraction, and a zone (`Z` or an offset): RFC 3339.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** True for an RFC 3339 / ISO-8601 date-time that names a real instant. */
export function isIsoTime(value: string): boolean {
  return ISO_8601.test(value) && !Number.isNaN(Date.parse(value));
}

/** How a value reads in an error message (never the value itself: it may be anything). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** The own property `key` of `record` when it is a JSON object, else undefined. */
export function ownRecord(record: object, key: string): Record<string, unknown> | undefined {
  const value = own(record, key);
  return isRecord(value) ? value : undefined;
}
