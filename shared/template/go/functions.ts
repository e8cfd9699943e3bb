export { TemplateExecError, type TemplateFunction } from './args.js';
import { createHash } from 'node:crypto';
import { parseAllDocuments, type Tags } from 'yaml';
import { goQuote, sprintf } from './format.js';
import { filterPem } from './pem.js';
import { goNospace, goReplaceAll, goSplit, goToLower, goToUpper, goTrimSpace, goTrunc } from './text.js';
import { toGoYaml } from './yaml.js';
import { TemplateExecError, anyMap, arity, bool, int, str, type TemplateFunction } from './args.js';
import { collectionFunctions } from './fn-collections.js';
import { mathFunctions } from './fn-math.js';
import { pathFunctions } from './fn-paths.js';
import { regexFunctions } from './fn-regex.js';
import { stringFunctions } from './fn-strings.js';
import {
  GoFloat,
  fromPlain,
  goJson,
  goJsonIndent,
  hasKey,
  isMap,
  isStringMap,
  newMap,
  sprint,
  strval,
  toPlain,
  truthy,
  typeName,
  typedSlice,
  intValue,
  GoInt64,
  type GoMap,
  type GoValue,
} from './values.js';

/** strings.Repeat panics on a negative count; text/template reports the panic as an error. */
function repeat(name: string, text: string, count: number): string {
  if (count < 0) throw new TemplateExecError(`error calling ${name}: strings: negative Repeat count`);
  // A template limit: intermediate strings are capped like the output is.
  if (text.length * count > 4 * 1024 * 1024)
    throw new TemplateExecError(`error calling ${name}: the result would exceed the template limit of 4 MiB`);
  return text.repeat(count);
}

/** Sprig's `empty`. */
export function isEmpty(v: GoValue): boolean {
  return !truthy(v);
}

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes standard, padded base64 strictly (Go's base64.StdEncoding ignores \r and \n only). */
export function decodeStdBase64(text: string): Buffer | undefined {
  const clean = text.replace(/[\r\n]/g, '');
  if (clean.length % 4 !== 0 || !base64Pattern.test(clean)) return undefined;
  return Buffer.from(clean, 'base64');
}

function compare(name: string, a: GoValue, b: GoValue): number {
  const kind = (v: GoValue) =>
    intValue(v) !== undefined ? 'int' : v instanceof GoFloat ? 'float' : typeof v;
  if (kind(a) !== kind(b))
    throw new TemplateExecError(`error calling ${name}: incompatible types for comparison`);
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  const x = a instanceof GoFloat || a instanceof GoInt64 ? a.value : a;
  const y = b instanceof GoFloat || b instanceof GoInt64 ? b.value : b;
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  throw new TemplateExecError(`error calling ${name}: invalid type for comparison`);
}

function equal(a: GoValue, b: GoValue): boolean {
  const aNil = a === null || a === undefined;
  const bNil = b === null || b === undefined;
  // nil equals nil and nothing else (Go compares an invalid value without error).
  if (aNil || bNil) return aNil && bNil;
  if (typeof a === 'boolean' || typeof b === 'boolean') {
    if (typeof a !== typeof b)
      throw new TemplateExecError('error calling eq: incompatible types for comparison');
    return a === b;
  }
  return compare('eq', a, b) === 0;
}

/** fmt.Sprint: a space between operands when neither side is a string. */
function goSprint(args: GoValue[]): string {
  let out = '';
  args.forEach((arg, i) => {
    const prev = args[i - 1];
    if (i > 0 && typeof arg !== 'string' && typeof prev !== 'string') out += ' ';
    out += sprint(arg);
  });
  return out;
}

function toYaml(v: GoValue): string {
  // sigs.k8s.io/yaml: through JSON, keys sorted, block style, no trailing newline.
  return toGoYaml(toPlain(v));
}

/** YAML 1.1 as go-yaml v2 reads it: timestamps and base-60 numbers stay text. */
function goYamlTags(tags: Tags): Tags {
  return tags.filter((t) => typeof t !== 'object' || (t.format !== 'TIME' && !t.tag.endsWith(':timestamp')));
}

/** JSON's name for a value's type, as encoding/json reports it. */
function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  return typeof value === 'boolean' ? 'bool' : typeof value;
}

/**
 * ESO's fromYaml (sigs.k8s.io/yaml over go-yaml v2): YAML 1.1 (`yes`, `on`, `n` are
 * booleans, also as keys, which become "true" / "false"), the first document only,
 * through JSON into a map. Errors go into the map's "Error" key, never thrown.
 */
function fromYaml(text: string): GoValue {
  const map = newMap();
  const doc = parseAllDocuments(text, { version: '1.1', customTags: goYamlTags })[0];
  if (doc === undefined) return map;
  if (doc.errors.length > 0 || !('toJS' in doc)) {
    // go-yaml's own message cannot be reproduced; the prefix is sigs.k8s.io/yaml's.
    map['Error'] = 'error converting YAML to JSON: yaml: invalid YAML';
    return map;
  }
  const plain: unknown = JSON.parse(JSON.stringify(doc.toJS()) ?? 'null');
  if (plain === null) return map;
  const value = fromPlain(plain);
  if (value !== null && isMap(value)) return value;
  map['Error'] =
    `error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${jsonKind(plain)} into Go value of type map[string]interface {}`;
  return map;
}

function htmlEscape(text: string): string {
  return text.replace(
    /[\0"'&<>]/g,
    (c) => ({ '\0': '\uFFFD', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] ?? c,
  );
}

const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** text/template's JSEscapeString: quotes, backslash, <>&= and unprintable characters escaped. */
function jsEscape(text: string): string {
  const named: Record<string, string> = { '\\': '\\\\', "'": "\\'", '"': '\\"' };
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (named[ch] !== undefined) out += named[ch];
    else if ('<>&='.includes(ch) || cp < 0x20 || (cp >= 0x7f && !printable.test(ch)))
      out += `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += ch;
  }
  return out;
}

function index(args: GoValue[]): GoValue {
  let item = args[0];
  for (const key of args.slice(1)) {
    if (item === null || item === undefined)
      throw new TemplateExecError('error calling index: index of untyped nil');
    if (Array.isArray(item) || typeof item === 'string') {
      const i = intValue(key);
      if (i === undefined)
        throw new TemplateExecError('error calling index: cannot index slice/array with non-int');
      const bytes = typeof item === 'string' ? Buffer.from(item, 'utf8') : undefined;
      if (i < 0 || i >= (bytes ?? item).length)
        throw new TemplateExecError(`error calling index: index out of range: ${i}`);
      item = bytes !== undefined ? (bytes[i] ?? 0) : (item as GoValue[])[i];
    } else if (isMap(item)) {
      if (typeof key !== 'string')
        throw new TemplateExecError(`error calling index: value has type ${typeName(key)}; should be string`);
      item = hasKey(item, key) ? item[key] : isStringMap(item) ? '' : null;
    } else {
      throw new TemplateExecError(`error calling index: can't index item of type ${typeName(item)}`);
    }
  }
  return item;
}

/**
 * The functions ESO's template engine v2 offers that we support: Go's builtins, the
 * Sprig functions people use, and ESO's own `toYaml`, `fromYaml`, `filterPEM`.
 * `env` and `expandenv` are absent, as in ESO: templates never see the environment.
 */
const coreFunctions: [string, TemplateFunction][] = [
  // Go builtins (and / or are special forms in exec.ts, they short-circuit)
  ['not', (a) => (arity('not', a, 1), !truthy(a[0]))],
  [
    'len',
    (a) => {
      arity('len', a, 1);
      const v = a[0];
      if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
      if (Array.isArray(v)) return v.length;
      if (v !== null && v !== undefined && isMap(v)) return Object.keys(v).length;
      throw new TemplateExecError(`error calling len: len of type ${typeName(v)}`);
    },
  ],
  ['index', (a) => (arity('index', a, 1, Infinity), index(a))],
  ['print', (a) => goSprint(a)],
  ['println', (a) => `${a.map(sprint).join(' ')}\n`],
  ['printf', (a) => (arity('printf', a, 1, Infinity), sprintf(str('printf', a, 0), a.slice(1)))],
  [
    'eq',
    (a) => {
      arity('eq', a, 1, Infinity);
      if (a.length < 2) throw new TemplateExecError('error calling eq: missing argument for comparison');
      return a.slice(1).some((b) => equal(a[0], b));
    },
  ],
  ['ne', (a) => (arity('ne', a, 2), !equal(a[0], a[1]))],
  ['lt', (a) => (arity('lt', a, 2), compare('lt', a[0], a[1]) < 0)],
  ['le', (a) => (arity('le', a, 2), compare('le', a[0], a[1]) <= 0)],
  ['gt', (a) => (arity('gt', a, 2), compare('gt', a[0], a[1]) > 0)],
  ['ge', (a) => (arity('ge', a, 2), compare('ge', a[0], a[1]) >= 0)],
  [
    'urlquery',
    (a) =>
      encodeURIComponent(goSprint(a))
        .replace(/%20/g, '+')
        .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
  ],
  ['html', (a) => htmlEscape(goSprint(a))],
  ['js', (a) => jsEscape(goSprint(a))],
  [
    'call',
    (a) => {
      arity('call', a, 1, Infinity);
      // No template value is a function in ESO's data (maps of strings, JSON, YAML).
      throw new TemplateExecError(`error calling call: non-function of type ${typeName(a[0])}`);
    },
  ],

  // Sprig: encoding
  ['b64enc', (a) => (arity('b64enc', a, 1), Buffer.from(str('b64enc', a, 0), 'utf8').toString('base64'))],
  [
    'b64dec',
    (a) => {
      arity('b64dec', a, 1);
      const decoded = decodeStdBase64(str('b64dec', a, 0));
      // Sprig would put Go's error text into the output; we refuse instead of writing it.
      if (decoded === undefined)
        throw new TemplateExecError('error calling b64dec: input is not valid base64');
      return decoded.toString('utf8');
    },
  ],
  ['toJson', (a) => (arity('toJson', a, 1), goJson(toPlain(a[0])))],
  ['mustToJson', (a) => (arity('mustToJson', a, 1), goJson(toPlain(a[0])))],
  ['toRawJson', (a) => (arity('toRawJson', a, 1), goJson(toPlain(a[0]), false))],
  ['toPrettyJson', (a) => (arity('toPrettyJson', a, 1), goJsonIndent(toPlain(a[0])))],
  [
    'fromJson',
    (a) => {
      arity('fromJson', a, 1);
      try {
        return fromPlain(JSON.parse(str('fromJson', a, 0)));
      } catch (error) {
        if (error instanceof TemplateExecError) throw error;
        return null; // sprig swallows the error
      }
    },
  ],
  [
    'mustFromJson',
    (a) => {
      arity('mustFromJson', a, 1);
      try {
        return fromPlain(JSON.parse(str('mustFromJson', a, 0)));
      } catch (error) {
        if (error instanceof TemplateExecError) throw error;
        throw new TemplateExecError('error calling mustFromJson: input is not valid JSON');
      }
    },
  ],
  ['toYaml', (a) => (arity('toYaml', a, 1), toYaml(a[0]))],
  ['fromYaml', (a) => (arity('fromYaml', a, 1), fromYaml(str('fromYaml', a, 0)))],
  [
    'sha256sum',
    (a) => (
      arity('sha256sum', a, 1),
      createHash('sha256')
        .update(str('sha256sum', a, 0), 'utf8')
        .digest('hex')
    ),
  ],
  [
    'sha1sum',
    (a) => (
      arity('sha1sum', a, 1),
      createHash('sha1')
        .update(str('sha1sum', a, 0), 'utf8')
        .digest('hex')
    ),
  ],
  [
    'filterPEM',
    (a) => {
      arity('filterPEM', a, 2);
      const [type, input] = [str('filterPEM', a, 0), str('filterPEM', a, 1)];
      try {
        return filterPem(type, input);
      } catch (error) {
        throw new TemplateExecError(`error calling filterPEM: ${(error as Error).message}`);
      }
    },
  ],

  // Sprig: strings
  ['upper', (a) => (arity('upper', a, 1), goToUpper(str('upper', a, 0)))],
  ['lower', (a) => (arity('lower', a, 1), goToLower(str('lower', a, 0)))],
  ['trim', (a) => (arity('trim', a, 1), goTrimSpace(str('trim', a, 0)))],
  ['trimAll', (a) => (arity('trimAll', a, 2), trimCutset(str('trimAll', a, 1), str('trimAll', a, 0)))],
  [
    'trimPrefix',
    (a) => (arity('trimPrefix', a, 2), trimPrefix(str('trimPrefix', a, 1), str('trimPrefix', a, 0))),
  ],
  [
    'trimSuffix',
    (a) => (arity('trimSuffix', a, 2), trimSuffix(str('trimSuffix', a, 1), str('trimSuffix', a, 0))),
  ],
  ['nospace', (a) => (arity('nospace', a, 1), goNospace(str('nospace', a, 0)))],
  ['trunc', (a) => (arity('trunc', a, 2), goTrunc(int('trunc', a, 0), str('trunc', a, 1)))],
  ['repeat', (a) => (arity('repeat', a, 2), repeat('repeat', str('repeat', a, 1), int('repeat', a, 0)))],
  [
    'replace',
    (a) => (
      arity('replace', a, 3),
      goReplaceAll(str('replace', a, 2), str('replace', a, 0), str('replace', a, 1))
    ),
  ],
  ['contains', (a) => (arity('contains', a, 2), str('contains', a, 1).includes(str('contains', a, 0)))],
  ['hasPrefix', (a) => (arity('hasPrefix', a, 2), str('hasPrefix', a, 1).startsWith(str('hasPrefix', a, 0)))],
  ['hasSuffix', (a) => (arity('hasSuffix', a, 2), str('hasSuffix', a, 1).endsWith(str('hasSuffix', a, 0)))],
  [
    'quote',
    (a) =>
      a
        .filter((v) => v !== null && v !== undefined)
        .map((v) => goQuote(strval(v)))
        .join(' '),
  ],
  [
    'squote',
    (a) =>
      a
        .filter((v) => v !== null && v !== undefined)
        .map((v) => `'${strval(v)}'`)
        .join(' '),
  ],
  [
    'cat',
    (a) =>
      a
        .filter((v) => v !== null && v !== undefined)
        .map(sprint)
        .join(' '),
  ],
  ['indent', (a) => (arity('indent', a, 2), indent('indent', int('indent', a, 0), str('indent', a, 1)))],
  [
    'nindent',
    (a) => (arity('nindent', a, 2), `\n${indent('nindent', int('nindent', a, 0), str('nindent', a, 1))}`),
  ],
  ['toString', (a) => (arity('toString', a, 1), strval(a[0]))],
  [
    'splitList',
    (a) => (
      arity('splitList', a, 2),
      typedSlice(goSplit(str('splitList', a, 1), str('splitList', a, 0)), 'string')
    ),
  ],

  // Sprig: defaults and flow
  ['default', (a) => (arity('default', a, 1, 2), a.length < 2 || isEmpty(a[1]) ? a[0] : a[1])],
  ['empty', (a) => (arity('empty', a, 1), isEmpty(a[0]))],
  ['coalesce', (a) => a.find((v) => !isEmpty(v)) ?? null],
  ['ternary', (a) => (arity('ternary', a, 3), bool('ternary', a, 2) ? a[0] : a[1])],
  [
    'required',
    (a) => {
      arity('required', a, 2);
      const v = a[1];
      // The message is template text but could be a value: keep it out of errors.
      if (v === null || v === undefined || v === '')
        throw new TemplateExecError('error calling required: a required value is empty');
      return v;
    },
  ],
  [
    'fail',
    (a) => {
      arity('fail', a, 1);
      throw new TemplateExecError('error calling fail: the template called fail');
    },
  ],

  // Sprig: lists and dicts
  ['list', (a) => [...a]],
  [
    'dict',
    (a) => {
      const map: GoMap = newMap();
      for (let i = 0; i < a.length; i += 2) map[strval(a[i])] = i + 1 < a.length ? a[i + 1] : '';
      return map;
    },
  ],
  [
    'get',
    (a) => {
      arity('get', a, 2);
      const map = anyMap('get', a, 0);
      const key = str('get', a, 1);
      return hasKey(map, key) ? map[key] : '';
    },
  ],
  [
    'hasKey',
    (a) => {
      arity('hasKey', a, 2);
      return hasKey(anyMap('hasKey', a, 0), str('hasKey', a, 1));
    },
  ],
  ['keys', (a) => typedSlice(a.flatMap((_m, i) => Object.keys(anyMap('keys', a, i))).sort(), 'string')],
  ['mustToPrettyJson', (a) => (arity('mustToPrettyJson', a, 1), goJsonIndent(toPlain(a[0])))],
  ['mustToRawJson', (a) => (arity('mustToRawJson', a, 1), goJson(toPlain(a[0]), false))],
];

/**
 * Every function of ESO's v2 template engine that we support, by name: Go's builtins,
 * Sprig's (without `env` and `expandenv`, as in ESO) and ESO's own.
 */
export const templateFunctions: ReadonlyMap<string, TemplateFunction> = new Map<string, TemplateFunction>([
  ...coreFunctions,
  ...stringFunctions,
  ...mathFunctions,
  ...collectionFunctions,
  ...regexFunctions,
  ...pathFunctions,
]);

/** Names handled by the interpreter itself rather than the table. */
export const specialForms = new Set(['and', 'or']);

export function isSupportedFunction(name: string): boolean {
  return templateFunctions.has(name) || specialForms.has(name);
}

function trimCutset(s: string, cutset: string): string {
  const set = new Set(cutset);
  const chars = [...s];
  let start = 0;
  let end = chars.length;
  while (start < end && set.has(chars[start] ?? '')) start++;
  while (end > start && set.has(chars[end - 1] ?? '')) end--;
  return chars.slice(start, end).join('');
}

function trimPrefix(s: string, prefix: string): string {
  return prefix !== '' && s.startsWith(prefix) ? s.slice(prefix.length) : s;
}

function trimSuffix(s: string, suffix: string): string {
  return suffix !== '' && s.endsWith(suffix) ? s.slice(0, -suffix.length) : s;
}

function indent(name: string, spaces: number, text: string): string {
  const pad = repeat(name, ' ', spaces);
  return pad + text.split('\n').join(`\n${pad}`);
}
