import { TemplateExecError, anyMap, arity, int, str, type TemplateFunction } from './args.js';
import { toInt64 } from './fn-math.js';
import {
  GoFloat,
  GoInt64,
  GoTime,
  hasKey,
  isMap,
  isStringMap,
  newMap,
  nilSlice,
  sliceElement,
  stringMap,
  truthy,
  typeName,
  typedSlice,
  type GoMap,
  type GoValue,
} from './values.js';

/**
 * Sprig's lists, dicts, `all` / `any` and reflection. Lists are Go slices: functions
 * take any slice and return `[]interface {}`; a value that is not a slice is an error
 * (Sprig panics, text/template reports it as an error calling the function).
 */

/** reflect.Kind's name, as Sprig's kindOf and its error messages print it. */
export function kindName(v: GoValue): string {
  if (v === null || v === undefined) return 'invalid';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'int';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof GoFloat) return 'float64';
  if (v instanceof GoInt64) return 'int64';
  if (v instanceof GoTime) return 'struct';
  return Array.isArray(v) ? 'slice' : 'map';
}

/** The elements of a slice argument; anything else fails as Sprig's reflection does. */
function listArg(name: string, v: GoValue, what: string): GoValue[] {
  if (Array.isArray(v)) return v;
  // reflect.TypeOf(nil).Kind() is a nil dereference in Go.
  if (v === null || v === undefined)
    throw new TemplateExecError(`error calling ${name}: invalid memory address or nil pointer dereference`);
  throw new TemplateExecError(`error calling ${name}: Cannot ${what} type ${kindName(v)}`);
}

/** reflect.DeepEqual over template values: types must match exactly. */
export function deepEqual(a: GoValue, b: GoValue): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (a === null || b === null) return a === b;
  if (typeName(a) !== typeName(b)) return false;
  if (a instanceof GoFloat || a instanceof GoInt64) return a.value === (b as GoFloat | GoInt64).value;
  if (a instanceof GoTime) return b instanceof GoTime && a.ms === b.ms && a.nanos === b.nanos;
  if (Array.isArray(a)) {
    const other = b as GoValue[];
    return a.length === other.length && a.every((v, i) => deepEqual(v, other[i]));
  }
  if (isMap(a)) {
    const other = b as GoMap;
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(other).length &&
      keys.every((k) => hasKey(other, k) && deepEqual(a[k], other[k]))
    );
  }
  return a === b;
}

function chunk(size: number, items: GoValue[]): GoValue[] {
  if (size <= 0) throw new TemplateExecError('error calling chunk: the chunk size must be positive');
  const out: GoValue[] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return typedSlice(out, '[]interface {}');
}

function uniq(items: GoValue[]): GoValue[] {
  const out: GoValue[] = [];
  for (const item of items) if (!out.some((seen) => deepEqual(seen, item))) out.push(item);
  return out;
}

/** Sprig's slice (it replaces Go's builtin of the same name): list[start:end] by cast.ToInt. */
function sliceList(name: string, a: GoValue[]): GoValue {
  arity(name, a, 1, Infinity);
  const list = a[0];
  if (!Array.isArray(list)) {
    if (list === null || list === undefined)
      throw new TemplateExecError(`error calling ${name}: invalid memory address or nil pointer dereference`);
    throw new TemplateExecError(
      `error calling ${name}: list should be type of slice or array but ${kindName(list)}`,
    );
  }
  if (list.length === 0) return null;
  const start = a.length > 1 ? toInt64(a[1]) : 0;
  const end = a.length > 2 ? toInt64(a[2]) : list.length;
  if (start < 0 || end > list.length || start > end)
    throw new TemplateExecError(`error calling ${name}: reflect: slice index out of range`);
  return typedSlice(list.slice(start, end), sliceElement(list));
}

/** mergo.Merge / MergeWithOverwrite over map[string]interface {}: nested maps merge. */
function mergeInto(dst: GoMap, src: GoMap, overwrite: boolean): void {
  for (const key of Object.keys(src)) {
    const s = src[key];
    const d = hasKey(dst, key) ? dst[key] : undefined;
    if (s === null || s === undefined) {
      if (overwrite) dst[key] = null;
      continue;
    }
    const present = hasKey(dst, key);
    if (isMap(s) && present && d !== null && d !== undefined && isMap(d)) {
      if (!isStringMap(d) && !isStringMap(s)) mergeInto(d, s, overwrite);
      if (truthy(d)) continue;
    }
    if (Array.isArray(s) && present && truthy(d)) {
      if (overwrite) dst[key] = s;
      continue;
    }
    if (overwrite || !present || !truthy(d)) dst[key] = s;
  }
}

function mergeAll(name: string, a: GoValue[], overwrite: boolean): GoMap {
  arity(name, a, 1, Infinity);
  const dst = anyMap(name, a, 0);
  a.slice(1).forEach((_v, i) => mergeInto(dst, anyMap(name, a, i + 1), overwrite));
  return dst;
}

function deepCopy(v: GoValue): GoValue {
  if (Array.isArray(v)) return typedSlice(v.map(deepCopy), sliceElement(v));
  if (v !== null && v !== undefined && isMap(v)) {
    const copy = isStringMap(v) ? stringMap({}) : newMap();
    for (const k of Object.keys(v)) copy[k] = deepCopy(v[k]);
    return copy;
  }
  return v;
}

/** Sprig's dig: keys..., a default, then a map[string]interface {}. */
function dig(a: GoValue[]): GoValue {
  if (a.length < 3) throw new TemplateExecError('error calling dig: dig needs at least three arguments');
  const last = a[a.length - 1];
  if (last === null || last === undefined || !isMap(last) || isStringMap(last))
    throw new TemplateExecError('error calling dig: the last argument is not a map[string]interface {}');
  const fallback = a[a.length - 2];
  const keys = a.slice(0, -2).map((k) => {
    if (typeof k !== 'string') throw new TemplateExecError('error calling dig: a key is not a string');
    return k;
  });
  let map: GoMap = last;
  for (const [i, key] of keys.entries()) {
    if (!hasKey(map, key)) return fallback;
    const step = map[key];
    if (i === keys.length - 1) return step;
    if (step === null || step === undefined || !isMap(step) || isStringMap(step))
      throw new TemplateExecError(
        'error calling dig: an intermediate value is not a map[string]interface {}',
      );
    map = step;
  }
  return fallback;
}

type Entry = [string, TemplateFunction];

/** A Sprig list function and its must* twin (the same result; the error class is the same in Go). */
function both(name: string, fn: TemplateFunction): Entry[] {
  const must = `must${name[0]?.toUpperCase() ?? ''}${name.slice(1)}`;
  return [
    [name, fn],
    [must, fn],
  ];
}

function listFn(name: string, what: string, body: (items: GoValue[], a: GoValue[]) => GoValue): Entry[] {
  return both(name, (a) => body(listArg(name, a[0], what), a));
}

const listFunctions: Entry[] = [
  ['tuple', (a) => [...a]],
  ...(['append', 'push'] as const).flatMap((n) =>
    listFn(n, 'push on', (items, a) => (arity(n, a, 2), [...items, a[1]])),
  ),
  ...listFn('prepend', 'prepend on', (items, a) => (arity('prepend', a, 2), [a[1], ...items])),
  ...both('chunk', (a) => {
    arity('chunk', a, 2);
    return chunk(int('chunk', a, 0), listArg('chunk', a[1], 'chunk'));
  }),
  ...listFn('first', 'find first on', (items, a) => (arity('first', a, 1), items[0] ?? null)),
  ...listFn('last', 'find last on', (items, a) => (arity('last', a, 1), items[items.length - 1] ?? null)),
  ...listFn(
    'rest',
    'find rest on',
    (items, a) => (arity('rest', a, 1), items.length === 0 ? nilSlice() : items.slice(1)),
  ),
  ...listFn(
    'initial',
    'find initial on',
    (items, a) => (arity('initial', a, 1), items.length === 0 ? nilSlice() : items.slice(0, -1)),
  ),
  ...listFn('reverse', 'find reverse on', (items, a) => (arity('reverse', a, 1), [...items].reverse())),
  ...listFn('compact', 'compact on', (items, a) => (arity('compact', a, 1), items.filter(truthy))),
  ...listFn('uniq', 'find uniq on', (items, a) => (arity('uniq', a, 1), uniq(items))),
  ...listFn('without', 'find without on', (items, a) => {
    arity('without', a, 1, Infinity);
    const omit = a.slice(1);
    return items.filter((item) => !omit.some((o) => deepEqual(o, item)));
  }),
  ...both('has', (a) => {
    arity('has', a, 2);
    const haystack = a[1];
    if (haystack === null || haystack === undefined) return false;
    return listArg('has', haystack, 'find has on').some((item) => deepEqual(a[0], item));
  }),
  ...both('slice', (a) => sliceList('slice', a)),
  [
    'concat',
    (a) => {
      const out: GoValue[] = a.length === 0 ? nilSlice() : [];
      for (const list of a) out.push(...listArg('concat', list, 'concat').map((v) => v));
      return out;
    },
  ],
  ['dig', dig],
];

const dictFunctions: Entry[] = [
  ['set', (a) => (arity('set', a, 3), Object.assign(anyMap('set', a, 0), { [str('set', a, 1)]: a[2] }))],
  [
    'unset',
    (a) => {
      arity('unset', a, 2);
      const map = anyMap('unset', a, 0);
      delete map[str('unset', a, 1)];
      return map;
    },
  ],
  [
    'pluck',
    (a) => {
      arity('pluck', a, 1, Infinity);
      const key = str('pluck', a, 0);
      return a.slice(1).flatMap((_m, i) => {
        const map = anyMap('pluck', a, i + 1);
        return hasKey(map, key) ? [map[key]] : [];
      });
    },
  ],
  [
    'pick',
    (a) => {
      arity('pick', a, 1, Infinity);
      const map = anyMap('pick', a, 0);
      const out = newMap();
      a.slice(1).forEach((_k, i) => {
        const key = str('pick', a, i + 1);
        if (hasKey(map, key)) out[key] = map[key];
      });
      return out;
    },
  ],
  [
    'omit',
    (a) => {
      arity('omit', a, 1, Infinity);
      const map = anyMap('omit', a, 0);
      const omit = new Set(a.slice(1).map((_k, i) => str('omit', a, i + 1)));
      const out = newMap();
      for (const k of Object.keys(map)) if (!omit.has(k)) out[k] = map[k];
      return out;
    },
  ],
  ...both('merge', (a) => mergeAll('merge', a, false)),
  ...both('mergeOverwrite', (a) => mergeAll('mergeOverwrite', a, true)),
  [
    'values',
    (a) => {
      arity('values', a, 1);
      // Go's map order is random; ours is the keys' order, one of the orders Go may give.
      const map = anyMap('values', a, 0);
      return Object.keys(map)
        .sort()
        .map((k) => map[k]);
    },
  ],
  ...both('deepCopy', (a) => (arity('deepCopy', a, 1), deepCopy(a[0]))),
];

const reflectFunctions: Entry[] = [
  ['all', (a) => a.every(truthy)],
  ['any', (a) => a.some(truthy)],
  ['typeOf', (a) => (arity('typeOf', a, 1), typeName(a[0]))],
  ['typeIs', (a) => (arity('typeIs', a, 2), str('typeIs', a, 0) === typeName(a[1]))],
  [
    'typeIsLike',
    (a) => {
      arity('typeIsLike', a, 2);
      const target = str('typeIsLike', a, 0);
      const t = typeName(a[1]);
      return target === t || `*${target}` === t;
    },
  ],
  ['kindOf', (a) => (arity('kindOf', a, 1), kindName(a[0]))],
  ['kindIs', (a) => (arity('kindIs', a, 2), str('kindIs', a, 0) === kindName(a[1]))],
  ['deepEqual', (a) => (arity('deepEqual', a, 2), deepEqual(a[0], a[1]))],
];

/** Sprig's list, dict and reflection functions, by name. */
export const collectionFunctions: Entry[] = [...listFunctions, ...dictFunctions, ...reflectFunctions];
