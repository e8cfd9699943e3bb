/**
 * The mutation engine shared by every fuzz target: a seeded generator and mutations of
 * JSON-like values (drop, duplicate, retype, weird strings, prototype names, huge numbers,
 * percent junk). Deterministic for a seed, so a failure is reproduced by its seed and index.
 */

/** A small seeded PRNG (mulberry32): fast, and enough spread for picking mutations. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Names that live on Object.prototype: a lookup on a plain object finds them. */
export const PROTOTYPE_NAMES = [
  '__proto__',
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  '__defineGetter__',
] as const;

/** Strings that break careless parsers: empty, blank, wildcards, paths, escapes, huge. */
export const WEIRD_STRINGS: readonly string[] = [
  '',
  ' ',
  '\t\n',
  '*',
  '?',
  '../Foo Bar',
  '%',
  '%E0%A4%A',
  'new%secret',
  '%zz%00',
  '\u0000',
  '\u202e\ufeff',
  '😀',
  'null',
  'undefined',
  'NaN',
  '2026-13-45T99:99:99Z',
  '1970-01-01',
  'https://x.vault.azure.net/secrets/a%/1',
  'projects//secrets/',
  'arn:',
  '{{ .x }}',
  'x'.repeat(10_000),
  ...PROTOTYPE_NAMES,
];

/** Numbers at the edges: negative zero, fractions, huge, beyond the safe integers. */
export const WEIRD_NUMBERS: readonly number[] = [
  0,
  -0,
  -1,
  0.5,
  1e21,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER + 2,
  2 ** 31,
];

type Json = unknown;
type Container = Record<string, Json> | Json[];

function isContainer(value: Json): value is Container {
  return typeof value === 'object' && value !== null;
}

/** Every container in the value with the keys it holds, so a mutation can pick one at random. */
function containers(root: Json): Container[] {
  const out: Container[] = [];
  const stack: Json[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (!isContainer(node)) continue;
    out.push(node);
    stack.push(...Object.values(node));
  }
  return out;
}

/** Sets `key` as an own data property, even `__proto__` (plain assignment would set the prototype). */
function define(target: Container, key: string | number, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function keysOf(target: Container): (string | number)[] {
  return Array.isArray(target) ? target.map((_, i) => i) : Object.keys(target);
}

/** A random replacement value of any JSON type (or a string/number at the edges). */
export function randomValue(rng: Rng, depth = 0): Json {
  switch (rng.int(depth > 2 ? 4 : 6)) {
    case 0:
      return rng.pick(WEIRD_STRINGS);
    case 1:
      return rng.pick(WEIRD_NUMBERS);
    case 2:
      return rng.pick([true, false, null]);
    case 3:
      return rng.pick(PROTOTYPE_NAMES);
    case 4:
      return [randomValue(rng, depth + 1)];
    default:
      return { [rng.pick(['id', 'data', 'time', 'type', 'name', 'key'])]: randomValue(rng, depth + 1) };
  }
}

/** Percent junk or a truncation inside an existing string. */
function garble(rng: Rng, text: string): string {
  const at = rng.int(text.length + 1);
  switch (rng.int(4)) {
    case 0:
      return `${text.slice(0, at)}%${text.slice(at)}`;
    case 1:
      return `${text.slice(0, at)}%G${rng.int(10)}${text.slice(at)}`;
    case 2:
      return text.slice(0, at);
    default:
      return text.toUpperCase();
  }
}

/** One mutation, in place, at a random place of the value. */
function mutateOnce(rng: Rng, root: Container): void {
  const target = rng.pick(containers(root));
  const keys = keysOf(target);
  const key = keys.length > 0 ? rng.pick(keys) : 0;
  const current = (target as Record<string | number, Json>)[key];
  switch (rng.int(8)) {
    case 0: // drop
      if (Array.isArray(target)) target.splice(Number(key), 1);
      else delete target[key];
      return;
    case 1: // duplicate a value under another key, or an element of a list
      if (Array.isArray(target)) target.push(structuredClone(current));
      else
        define(
          target,
          rng.pick([...keys.map(String), 'extra', ...PROTOTYPE_NAMES]),
          structuredClone(current),
        );
      return;
    case 2: // retype
      define(target, key, randomValue(rng));
      return;
    case 3: // weird string
      define(target, key, rng.pick(WEIRD_STRINGS));
      return;
    case 4: // a prototype name as a key
      if (!Array.isArray(target)) define(target, rng.pick(PROTOTYPE_NAMES), randomValue(rng));
      return;
    case 5: // huge or odd number
      define(target, key, rng.pick(WEIRD_NUMBERS));
      return;
    case 6: // percent junk, truncation, case in an existing string
      if (typeof current === 'string') define(target, key, garble(rng, current));
      return;
    default: // wrap a value in a list
      define(target, key, [current]);
  }
}

/**
 * A mutant of `seed`: a deep copy with one to four mutations, or now and then a whole
 * replacement (a primitive, a list of seeds). The seed itself is never changed.
 */
export function mutate(rng: Rng, seed: Json): Json {
  if (rng.chance(0.03)) return randomValue(rng);
  if (rng.chance(0.02)) return [structuredClone(seed), randomValue(rng)];
  const root = { root: structuredClone(seed) };
  const count = 1 + rng.int(4);
  for (let i = 0; i < count; i++) mutateOnce(rng, root);
  return root.root;
}
