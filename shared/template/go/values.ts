/**
 * The value model of the template interpreter, mirroring what Go's text/template sees
 * in ESO: the data map is `map[string]string`, `fromJson`/`fromYaml` produce
 * `map[string]interface{}` with `float64` numbers. JS numbers stand for Go `int`;
 * `GoFloat` stands for `float64` so that printing matches Go (`1.234567e+06`).
 */

export class GoFloat {
  /** `literal`: an untyped constant written in the template (`2.0`), which Go lets an int parameter take. */
  constructor(
    readonly value: number,
    readonly literal = false,
  ) {}
}

/** Go's `int64`, which Sprig's integer math returns (JS numbers stand for `int`). */
export class GoInt64 {
  constructor(readonly value: number) {}
}

/**
 * Go's `time.Time` as Sprig's date functions pass it: an instant in milliseconds with
 * the nanoseconds below them, and the zone it is shown in (name and offset in seconds).
 */
export class GoTime {
  constructor(
    readonly ms: number,
    readonly nanos = 0,
    readonly zone: { name: string; offset: number } = { name: 'UTC', offset: 0 },
  ) {}
}

export type GoMap = { [key: string]: GoValue };
export type GoValue =
  string | number | boolean | null | undefined | GoFloat | GoInt64 | GoTime | GoValue[] | GoMap;

/** A JS number standing for any of Go's integer types. */
export function intValue(value: GoValue): number | undefined {
  if (typeof value === 'number') return value;
  return value instanceof GoInt64 ? value.value : undefined;
}

/** Element types of slices that are not `[]interface {}` (`[]string` from splitList, `[]int` from until). */
const sliceTypes = new WeakMap<object, string>();

/** Marks a slice with its Go element type, for typeOf and the type checks of function arguments. */
export function typedSlice<T extends GoValue[]>(items: T, element: string): T {
  sliceTypes.set(items, element);
  return items;
}

/** Nil slices (Go's `[]T(nil)`): printed `[]` like empty ones, but `null` in JSON. */
const nilSlices = new WeakSet<object>();

/** A nil slice of the given element type. */
export function nilSlice(element = 'interface {}'): GoValue[] {
  const items = typedSlice([], element);
  nilSlices.add(items);
  return items;
}

/** The Go element type of a slice. */
export function sliceElement(items: GoValue[]): string {
  return sliceTypes.get(items) ?? 'interface {}';
}

/** Maps whose element type is `string` (the root data map): a missing `index` yields "". */
const stringMaps = new WeakSet<object>();

export function stringMap(entries: Record<string, string>): GoMap {
  const map: GoMap = Object.create(null) as GoMap;
  for (const [k, v] of Object.entries(entries)) map[k] = v;
  stringMaps.add(map);
  return map;
}

export function isStringMap(map: GoMap): boolean {
  return stringMaps.has(map);
}

export function newMap(): GoMap {
  return Object.create(null) as GoMap;
}

export function isMap(value: GoValue): value is GoMap {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    !(value instanceof GoFloat) &&
    !(value instanceof GoInt64) &&
    !(value instanceof GoTime)
  );
}

export function hasKey(map: GoMap, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(map, key);
}

/** Go type names, for error messages (never values). */
export function typeName(value: GoValue): string {
  if (value === null || value === undefined) return '<nil>';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return 'int';
  if (typeof value === 'boolean') return 'bool';
  if (value instanceof GoFloat) return 'float64';
  if (value instanceof GoInt64) return 'int64';
  if (value instanceof GoTime) return 'time.Time';
  if (Array.isArray(value)) return `[]${sliceElement(value)}`;
  return isStringMap(value) ? 'map[string]string' : 'map[string]interface {}';
}

/** text/template truth: false, 0, nil, and empty strings, slices and maps are false. */
export function truthy(value: GoValue): boolean {
  if (value === null || value === undefined) return false;
  if (typeof value === 'string') return value.length > 0;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'boolean') return value;
  if (value instanceof GoFloat || value instanceof GoInt64) return value.value !== 0;
  if (value instanceof GoTime) return true;
  if (Array.isArray(value)) return value.length > 0;
  return Object.keys(value).length > 0;
}

/**
 * fmt's %v for float64: strconv 'g' with the shortest digits, which switches to the
 * exponent form when the exponent is < -4 or >= 6 (so 1234567 prints `1.234567e+06`,
 * as Helm and ESO templates famously do).
 */
export function formatFloatG(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const [mantissa = '', expPart = '0'] = f.toExponential().split('e');
  const e = Number(expPart);
  if (e >= -4 && e < 6) return String(f);
  const abs = Math.abs(e);
  return `${mantissa}e${e < 0 ? '-' : '+'}${abs < 10 ? `0${abs}` : String(abs)}`;
}

/** fmt.Sprint of one value, as text/template prints it. */
export function printValue(value: GoValue): string {
  if (value === null || value === undefined) return '<no value>';
  return sprint(value);
}

/** fmt's %v: nil inside containers prints `<nil>`. */
export function sprint(value: GoValue): string {
  if (value === null || value === undefined) return '<nil>';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof GoFloat) return formatFloatG(value.value);
  if (value instanceof GoInt64) return String(value.value);
  if (value instanceof GoTime) return timeString(value);
  if (Array.isArray(value)) return `[${value.map(sprint).join(' ')}]`;
  const keys = Object.keys(value).sort();
  return `map[${keys.map((k) => `${k}:${sprint(value[k])}`).join(' ')}]`;
}

/** Sprig's strval: strings as is, everything else through fmt.Sprintf("%v"). */
export function strval(value: GoValue): string {
  return typeof value === 'string' ? value : sprint(value);
}

/** Converts a parsed JSON / YAML value into template values (numbers become float64 as in encoding/json). */
export function fromPlain(value: unknown): GoValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return new GoFloat(value);
  if (Array.isArray(value)) return value.map(fromPlain);
  if (typeof value === 'object') {
    const map = newMap();
    for (const [k, v] of Object.entries(value)) map[k] = fromPlain(v);
    return map;
  }
  return null;
}

/** Converts template values back to plain JSON-able values. */
export function toPlain(value: GoValue): unknown {
  if (value === undefined) return null;
  if (value instanceof GoFloat || value instanceof GoInt64) return value.value;
  if (value instanceof GoTime) return timeJson(value);
  if (Array.isArray(value)) return nilSlices.has(value) ? null : value.map(toPlain);
  if (isMap(value)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = toPlain(value[k]);
    return out;
  }
  return value;
}

const htmlEscapes: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/**
 * encoding/json Marshal: map keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped
 * (Go escapes HTML characters by default), compact.
 */
export function goJson(value: unknown, escapeHtml = true): string {
  const text = JSON.stringify(sortKeys(value)) ?? 'null';
  return escapeHtml
    ? text.replace(/[<>&\u2028\u2029]/g, (c) => htmlEscapes[c] ?? c)
    : text.replace(/[\u2028\u2029]/g, (c) => htmlEscapes[c] ?? c);
}

/** json.MarshalIndent(v, "", "  ") as sprig's toPrettyJson uses. */
export function goJsonIndent(value: unknown): string {
  const text = JSON.stringify(sortKeys(value), null, 2) ?? 'null';
  return text.replace(/[<>&\u2028\u2029]/g, (c) => htmlEscapes[c] ?? c);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/** Registered by dates.ts so that values.ts stays free of the date formatting code. */
let timeFormatter: { string: (t: GoTime) => string; json: (t: GoTime) => string } = {
  string: (t) => new Date(t.ms).toISOString(),
  json: (t) => new Date(t.ms).toISOString(),
};

/** Installs time.Time's String and MarshalJSON formats. */
export function setTimeFormatter(formatter: typeof timeFormatter): void {
  timeFormatter = formatter;
}

function timeString(t: GoTime): string {
  return timeFormatter.string(t);
}

function timeJson(t: GoTime): string {
  return timeFormatter.json(t);
}
