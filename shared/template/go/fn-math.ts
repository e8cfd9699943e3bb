import { randomInt } from 'node:crypto';
import { GoCallError, TemplateExecError, arity, int, str, type TemplateFunction } from './args.js';
import { GoFloat, GoInt64, intValue, sprint, typedSlice, type GoValue } from './values.js';

/**
 * Sprig's numbers. Integer math is `int64` (Go's wrapping arithmetic), conversions follow
 * spf13/cast (an unparsable string is 0, never an error), and the `...f` functions use
 * exact decimal arithmetic as shopspring/decimal does, so `addf 0.1 0.2` is `0.3`.
 */

const INT64_BITS = 64;

function wrap64(value: bigint): GoInt64 {
  return new GoInt64(Number(BigInt.asIntN(INT64_BITS, value)));
}

/** strconv.ParseInt(s, 0, 64): sign, 0x / 0o / 0b / 0 prefixes, underscores after a prefix. */
export function parseGoInt(text: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(text);
  if (m === null) return undefined;
  const sign = m[1] === '-' ? -1n : 1n;
  let body = m[2] ?? '';
  if (body.includes('_')) {
    // Underscores only between digits, and only with a base prefix (octal "0_1" included).
    const ok = /^(0[xXoObB]_?[0-9a-fA-F]+(_[0-9a-fA-F]+)*|0_?[0-7]+(_[0-7]+)*|[1-9][0-9]*(_[0-9]+)*)$/;
    if (!ok.test(body)) return undefined;
    body = body.replace(/_/g, '');
  }
  const radix = /^0[xX]/.test(body)
    ? 16
    : /^0[oO]/.test(body)
      ? 8
      : /^0[bB]/.test(body)
        ? 2
        : /^0./.test(body)
          ? 8
          : 10;
  const digits = radix === 10 ? body : body.replace(/^0[xXoObB]?/, '') || '0';
  let value = 0n;
  for (const d of digits.toLowerCase()) value = value * BigInt(radix) + BigInt(parseInt(d, radix));
  value *= sign;
  if (value > 2n ** 63n - 1n || value < -(2n ** 63n)) return undefined;
  return Number(value);
}

/** cast's trimZeroDecimal: "12.000" parses as "12". */
function trimZeroDecimal(text: string): string {
  const m = /^(.*)\.0+$/.exec(text);
  return m?.[1] !== undefined && m[1] !== '' ? m[1] : text;
}

/** cast.ToInt64 / cast.ToInt: whatever does not convert is 0. */
export function toInt64(v: GoValue): number {
  const n = intValue(v);
  if (n !== undefined) return n;
  if (v instanceof GoFloat) return Math.trunc(v.value) || 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return parseGoInt(trimZeroDecimal(v)) ?? 0;
  return 0;
}

/** strconv.ParseFloat for the decimal forms, Inf and NaN. */
export function parseGoFloat(text: string): number | undefined {
  if (/^[+-]?(inf|infinity)$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (/^[+-]?(\d+(_\d+)*\.?(\d+(_\d+)*)?|\.\d+(_\d+)*)([eE][+-]?\d+)?$/.test(text) && !text.includes('_'))
    return Number(text);
  if (/^[+-]?0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*[pP][+-]?\d+$/.test(text)) return hexFloat(text);
  return undefined;
}

function hexFloat(text: string): number {
  const m = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?\d+)$/.exec(text);
  const [, sign = '', whole = '', frac = '', exp = '0'] = m ?? [];
  const mantissa = parseInt(whole + frac || '0', 16) / 16 ** frac.length;
  return (sign === '-' ? -1 : 1) * mantissa * 2 ** Number(exp);
}

/** cast.ToFloat64. */
export function toFloat64(v: GoValue): number {
  const n = intValue(v);
  if (n !== undefined) return n;
  if (v instanceof GoFloat) return v.value;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return parseGoFloat(v) ?? 0;
  return 0;
}

/** An exact decimal: digits × 10^exp. */
interface Decimal {
  digits: bigint;
  exp: number;
}

/** decimal.NewFromFloat: the shortest decimal that reads back as the float. */
function fromFloat(f: number): Decimal {
  if (!Number.isFinite(f)) throw new TemplateExecError('cannot create a decimal from a non-finite float');
  const [mantissa = '0', expPart = '0'] = f.toExponential().split('e');
  const [whole = '0', frac = ''] = mantissa.split('.');
  return { digits: BigInt(whole + frac), exp: Number(expPart) - frac.length };
}

function align(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const exp = Math.min(a.exp, b.exp);
  return [a.digits * 10n ** BigInt(a.exp - exp), b.digits * 10n ** BigInt(b.exp - exp), exp];
}

function toNumber(d: Decimal): number {
  return Number(`${d.digits}e${d.exp}`);
}

type DecimalOp = (a: Decimal, b: Decimal) => Decimal;

const decimalAdd: DecimalOp = (a, b) => {
  const [x, y, exp] = align(a, b);
  return { digits: x + y, exp };
};
const decimalSub: DecimalOp = (a, b) => decimalAdd(a, { digits: -b.digits, exp: b.exp });
const decimalMul: DecimalOp = (a, b) => ({ digits: a.digits * b.digits, exp: a.exp + b.exp });

/** decimal.Div: the quotient rounded half away from zero to 16 decimal places. */
const decimalDiv: DecimalOp = (a, b) => {
  if (b.digits === 0n) throw new GoCallError('decimal division by 0');
  const places = 16;
  // a / b × 10^places, as an integer scaled by one more digit for rounding.
  const shift = places + 1 + a.exp - b.exp;
  const num = shift >= 0 ? a.digits * 10n ** BigInt(shift) : a.digits;
  const den = shift >= 0 ? b.digits : b.digits * 10n ** BigInt(-shift);
  const q = num / den;
  const rounded = (q + (q < 0n ? -5n : 5n)) / 10n;
  return { digits: rounded, exp: -places };
};

function decimalFold(first: GoValue, rest: GoValue[], op: DecimalOp): GoFloat {
  let acc = fromFloat(toFloat64(first));
  for (const v of rest) acc = op(acc, fromFloat(toFloat64(v)));
  return new GoFloat(toNumber(acc));
}

/** Sprig's untilStep: an empty list when the step cannot reach the end. */
/** Lists built by until / untilStep / seq stay below this many elements (a template limit). */
const MAX_LIST = 1_000_000;

function untilStep(start: number, stop: number, step: number): number[] {
  const out: number[] = [];
  if (step !== 0 && Math.abs((stop - start) / step) > MAX_LIST)
    throw new GoCallError(`the list would exceed the template limit of ${MAX_LIST} elements`);
  if (stop < start) {
    if (step >= 0) return out;
    for (let i = start; i > stop; i += step) out.push(i);
    return out;
  }
  if (step <= 0) return out;
  for (let i = start; i < stop; i += step) out.push(i);
  return out;
}

/** Sprig's seq, like the seq command: `seq 5`, `seq 2 5`, `seq 0 2 10`. */
function seq(params: number[]): string {
  const [p0 = 0, p1 = 0, p2 = 0] = params;
  let list: number[] = [];
  if (params.length === 1) {
    const inc = p0 < 1 ? -1 : 1;
    list = untilStep(1, p0 + inc, inc);
  } else if (params.length === 2) {
    const inc = p1 < p0 ? -1 : 1;
    list = untilStep(p0, p1 + inc, inc);
  } else if (params.length === 3) {
    const inc = p2 < p0 ? -1 : 1;
    if (p2 < p0 && p1 > 0) return '';
    list = untilStep(p0, p2 + inc, p1);
  }
  return list.join(' ');
}

/** Sprig's round: half (or `roundOn`) up, on the digits after `places`. */
function round(value: number, places: number, roundOn: number): number {
  const pow = 10 ** places;
  const digit = pow * value;
  const frac = digit - Math.trunc(digit);
  return (frac >= roundOn ? Math.ceil(digit) : Math.floor(digit)) / pow;
}

function intList(name: string, a: GoValue[]): number[] {
  return a.map((_v, i) => int(name, a, i));
}

function bigOf(v: GoValue): bigint {
  return BigInt(toInt64(v));
}

/** Go's math.Max / math.Min: NaN wins, and +0 / -0 are ordered. */
function goMax(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return Math.max(a, b);
}

function goMin(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return Math.min(a, b);
}

function divide(name: string, a: GoValue, b: GoValue, op: (x: bigint, y: bigint) => bigint): GoInt64 {
  const y = bigOf(b);
  if (y === 0n) throw new GoCallError('runtime error: integer divide by zero');
  return wrap64(op(bigOf(a), y));
}

function atLeast(name: string, a: GoValue[], min: number): void {
  arity(name, a, min, Infinity);
}

/** Sprig's math and number conversion functions, by name. */
export const mathFunctions: [string, TemplateFunction][] = [
  [
    'atoi',
    (a) => {
      arity('atoi', a, 1);
      const text = str('atoi', a, 0);
      return /^[+-]?\d+$/.test(text) ? (parseGoInt(text.replace(/^([+-]?)0+(?=\d)/, '$1')) ?? 0) : 0;
    },
  ],
  ['int', (a) => (arity('int', a, 1), toInt64(a[0]))],
  ['int64', (a) => (arity('int64', a, 1), new GoInt64(toInt64(a[0])))],
  ['float64', (a) => (arity('float64', a, 1), new GoFloat(toFloat64(a[0])))],
  [
    'toDecimal',
    (a) => {
      arity('toDecimal', a, 1);
      const text = sprint(a[0]);
      return new GoInt64(/^[+-]?[0-7]+$/.test(text) ? (parseInt(text, 8) ?? 0) : 0);
    },
  ],
  ['seq', (a) => seq(intList('seq', a))],
  [
    'until',
    (a) => {
      arity('until', a, 1);
      const n = int('until', a, 0);
      return typedSlice(untilStep(0, n, n < 0 ? -1 : 1), 'int');
    },
  ],
  [
    'untilStep',
    (a) => (
      arity('untilStep', a, 3),
      typedSlice(untilStep(int('untilStep', a, 0), int('untilStep', a, 1), int('untilStep', a, 2)), 'int')
    ),
  ],
  ['add1', (a) => (arity('add1', a, 1), wrap64(bigOf(a[0]) + 1n))],
  ['add', (a) => wrap64(a.reduce((acc: bigint, v) => acc + bigOf(v), 0n))],
  ['sub', (a) => (arity('sub', a, 2), wrap64(bigOf(a[0]) - bigOf(a[1])))],
  ['div', (a) => (arity('div', a, 2), divide('div', a[0], a[1], (x, y) => x / y))],
  ['mod', (a) => (arity('mod', a, 2), divide('mod', a[0], a[1], (x, y) => x % y))],
  [
    'mul',
    (a) => (atLeast('mul', a, 1), wrap64(a.slice(1).reduce((acc: bigint, v) => acc * bigOf(v), bigOf(a[0])))),
  ],
  [
    'randInt',
    (a) => {
      arity('randInt', a, 2);
      const [min, max] = [int('randInt', a, 0), int('randInt', a, 1)];
      if (max - min <= 0) throw new TemplateExecError('error calling randInt: invalid argument to Intn');
      return randomInt(min, max);
    },
  ],
  ['add1f', (a) => (arity('add1f', a, 1), decimalFold(a[0], [1], decimalAdd))],
  ['addf', (a) => decimalFold(new GoFloat(0), a, decimalAdd)],
  ['subf', (a) => (atLeast('subf', a, 1), decimalFold(a[0], a.slice(1), decimalSub))],
  ['divf', (a) => (atLeast('divf', a, 1), decimalFold(a[0], a.slice(1), decimalDiv))],
  ['mulf', (a) => (atLeast('mulf', a, 1), decimalFold(a[0], a.slice(1), decimalMul))],
  ...(['max', 'biggest'] as const).map((name): [string, TemplateFunction] => [
    name,
    (a) => (atLeast(name, a, 1), new GoInt64(a.map(toInt64).reduce((x, y) => (y > x ? y : x)))),
  ]),
  ['min', (a) => (atLeast('min', a, 1), new GoInt64(a.map(toInt64).reduce((x, y) => (y < x ? y : x))))],
  ['maxf', (a) => (atLeast('maxf', a, 1), new GoFloat(a.map(toFloat64).reduce(goMax)))],
  ['minf', (a) => (atLeast('minf', a, 1), new GoFloat(a.map(toFloat64).reduce(goMin)))],
  ['floor', (a) => (arity('floor', a, 1), new GoFloat(Math.floor(toFloat64(a[0]))))],
  ['ceil', (a) => (arity('ceil', a, 1), new GoFloat(Math.ceil(toFloat64(a[0]))))],
  [
    'round',
    (a) => {
      arity('round', a, 2, 3);
      const roundOn = a.length > 2 ? floatArg('round', a, 2) : 0.5;
      return new GoFloat(round(toFloat64(a[0]), int('round', a, 1), roundOn));
    },
  ],
];

/** A float64 parameter: a float, or an untyped number constant. */
function floatArg(name: string, a: GoValue[], i: number): number {
  const v = a[i];
  if (v instanceof GoFloat) return v.value;
  if (typeof v === 'number') return v;
  throw new TemplateExecError(
    `wrong type for value; expected float64; got ${v === null || v === undefined ? '<nil>' : typeof v} (argument ${i + 1} of ${name})`,
  );
}
