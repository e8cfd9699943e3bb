import { GoFloat, GoInt64, formatFloatG, isMap, sprint, typeName, type GoValue } from './values.js';

/**
 * Go's fmt.Sprintf for the verbs templates use (%v %s %q %x %X %d %b %o %O %c %U %e %E
 * %f %F %g %G %t %%), with flags, width and precision (`*` included), explicit argument
 * indexes (`%[2]s`), and Go's `%!d(string=...)`, `%!s(MISSING)`, `%!(NOVERB)`,
 * `%!(BADINDEX)` and `%!(EXTRA ...)` markers, so output matches Go byte for byte.
 */
export function sprintf(format: string, args: readonly GoValue[]): string {
  const state = { argNum: 0, reordered: false };
  let out = '';
  let i = 0;
  while (i < format.length) {
    const percent = format.indexOf('%', i);
    if (percent < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, percent);
    const directive = parseDirective(format, percent + 1, args, state);
    out += directive.text;
    i = directive.end;
  }
  if (!state.reordered && state.argNum < args.length) {
    const extra = args
      .slice(state.argNum)
      .map((a) => (a === null || a === undefined ? '<nil>' : `${typeName(a)}=${sprint(a)}`));
    out += `%!(EXTRA ${extra.join(', ')})`;
  }
  return out;
}

interface ArgState {
  argNum: number;
  reordered: boolean;
}

/** `[n]` before a width, precision or verb: 1-based; returns whether it was well formed. */
function argIndex(format: string, at: number, count: number, state: ArgState): { end: number; ok: boolean } {
  if (format[at] !== '[') return { end: at, ok: true };
  state.reordered = true;
  const close = format.indexOf(']', at);
  const n = close < 0 ? NaN : Number(format.slice(at + 1, close));
  if (!Number.isInteger(n) || n < 1 || n > count || !/^\d+$/.test(format.slice(at + 1, close)))
    return { end: close < 0 ? format.length : close + 1, ok: false };
  state.argNum = n - 1;
  return { end: close + 1, ok: true };
}

/** A `*` width or precision: the next argument, which must be an int. */
function starArg(args: readonly GoValue[], state: ArgState): number | undefined {
  const v = args[state.argNum];
  if (state.argNum >= args.length || typeof v !== 'number') {
    state.argNum++;
    return undefined;
  }
  state.argNum++;
  return v;
}

function parseDirective(
  format: string,
  start: number,
  args: readonly GoValue[],
  state: ArgState,
): { text: string; end: number } {
  let i = start;
  const spec: Spec = {
    minus: false,
    plus: false,
    sharp: false,
    zero: false,
    space: false,
    width: undefined,
    precision: undefined,
  };
  for (; i < format.length; i++) {
    const c = format[i];
    if (c === '-') spec.minus = true;
    else if (c === '+') spec.plus = true;
    else if (c === '#') spec.sharp = true;
    else if (c === '0') spec.zero = true;
    else if (c === ' ') spec.space = true;
    else break;
  }
  let good = true;
  let index = argIndex(format, i, args.length, state);
  good &&= index.ok;
  i = index.end;
  let prefix = '';
  if (format[i] === '*') {
    i++;
    const w = starArg(args, state);
    if (w === undefined) prefix += '%!(BADWIDTH)';
    else if (w < 0) [spec.minus, spec.width] = [true, -w];
    else spec.width = w;
  } else {
    const digits = /^\d+/.exec(format.slice(i))?.[0];
    if (digits !== undefined) [spec.width, i] = [Number(digits), i + digits.length];
  }
  if (format[i] === '.') {
    i++;
    index = argIndex(format, i, args.length, state);
    good &&= index.ok;
    i = index.end;
    if (format[i] === '*') {
      i++;
      const p = starArg(args, state);
      if (p === undefined || p < 0) prefix += '%!(BADPREC)';
      else spec.precision = p;
    } else {
      const digits = /^\d*/.exec(format.slice(i))?.[0] ?? '';
      [spec.precision, i] = [Number(digits || '0'), i + digits.length];
    }
  }
  index = argIndex(format, i, args.length, state);
  good &&= index.ok;
  i = index.end;
  if (i >= format.length) return { text: `${prefix}%!(NOVERB)`, end: i };
  const verb = String.fromCodePoint(format.codePointAt(i) ?? 0);
  const end = i + verb.length;
  if (verb === '%') return { text: `${prefix}%`, end };
  if (!good) return { text: `${prefix}%!${verb}(BADINDEX)`, end };
  if (state.argNum >= args.length) return { text: `${prefix}%!${verb}(MISSING)`, end };
  spec.zero &&= !spec.minus;
  return { text: prefix + formatOne(verb, args[state.argNum++], spec), end };
}

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  zero: boolean;
  space: boolean;
  width: number | undefined;
  precision: number | undefined;
}

function pad(text: string, spec: Spec, numeric: boolean): string {
  const width = spec.width ?? 0;
  const length = [...text].length;
  if (length >= width) return text;
  const fill = width - length;
  if (spec.minus) return text + ' '.repeat(fill);
  if (spec.zero && numeric) {
    const sign = /^[-+]/.test(text) ? text.slice(0, 1) : '';
    return sign + '0'.repeat(fill) + text.slice(sign.length);
  }
  return ' '.repeat(fill) + text;
}

function bad(verb: string, arg: GoValue): string {
  if (arg === null || arg === undefined) return `%!${verb}(<nil>)`;
  return `%!${verb}(${typeName(arg)}=${sprint(arg)})`;
}

function formatOne(verb: string, arg: GoValue, spec: Spec): string {
  if (typeof arg === 'number') return formatInt(verb, arg, spec);
  if (arg instanceof GoInt64) return formatInt(verb, arg.value, spec);
  if (arg instanceof GoFloat) return formatFloat(verb, arg, spec);
  // fmt applies the verb (and its flags) to each element of a slice or map.
  if (verb !== 'v' && verb !== 'T' && Array.isArray(arg))
    return `[${arg.map((e) => (e === null || e === undefined ? '<nil>' : formatOne(verb, e, spec))).join(' ')}]`;
  if (verb !== 'v' && verb !== 'T' && arg !== null && arg !== undefined && isMap(arg)) {
    const entries = Object.keys(arg).sort();
    return `map[${entries.map((k) => `${formatOne(verb, k, spec)}:${formatOne(verb, arg[k], spec)}`).join(' ')}]`;
  }
  switch (verb) {
    case 'v':
      return pad(arg === undefined ? '<nil>' : sprint(arg), spec, false);
    case 's': {
      if (typeof arg === 'string')
        return pad(
          spec.precision === undefined ? arg : [...arg].slice(0, spec.precision).join(''),
          spec,
          false,
        );
      return bad(verb, arg);
    }
    case 'q':
      if (typeof arg === 'string')
        return pad(spec.sharp && !arg.includes('`') ? `\`${arg}\`` : goQuote(arg), spec, false);
      return bad(verb, arg);
    case 'x':
    case 'X': {
      if (typeof arg !== 'string') return bad(verb, arg);
      const hex = (spec.sharp ? '0x' : '') + Buffer.from(arg, 'utf8').toString('hex');
      return pad(verb === 'X' ? hex.toUpperCase() : hex, spec, false);
    }
    case 't':
      if (typeof arg === 'boolean') return pad(arg ? 'true' : 'false', spec, false);
      return bad(verb, arg);
    default:
      return bad(verb, arg);
  }
}

const intBases: Record<string, [number, string]> = {
  d: [10, ''],
  v: [10, ''],
  b: [2, ''],
  o: [8, ''],
  O: [8, '0o'],
  x: [16, ''],
  X: [16, ''],
};

/** Integers: %d %v %b %o %O %x %X with precision as minimum digits, %c %q %U. */
function formatInt(verb: string, n: number, spec: Spec): string {
  if (verb === 'c') return pad(codePoint(n), spec, false);
  if (verb === 'q') return pad(`'${codePoint(n)}'`, spec, false);
  if (verb === 'U') {
    const u = `U+${n.toString(16).toUpperCase().padStart(4, '0')}`;
    return pad(spec.sharp ? `${u} '${codePoint(n)}'` : u, spec, false);
  }
  const base = intBases[verb];
  if (base === undefined) return bad(verb, n);
  let digits = Math.abs(n).toString(base[0]);
  if (spec.precision !== undefined)
    digits = spec.precision === 0 && n === 0 ? '' : digits.padStart(spec.precision, '0');
  let prefix = base[1];
  if (spec.sharp && verb === 'o' && !digits.startsWith('0')) prefix = '0';
  if (spec.sharp && verb === 'x') prefix = '0x';
  if (spec.sharp && verb === 'X') prefix = '0X';
  if (spec.sharp && verb === 'b') prefix = '0b';
  const text = (n < 0 ? '-' : '') + prefix + (verb === 'X' ? digits.toUpperCase() : digits);
  return pad(signed(text, n, spec), { ...spec, zero: spec.zero && spec.precision === undefined }, true);
}

function codePoint(n: number): string {
  return n >= 0 && n <= 0x10ffff && !(n >= 0xd800 && n <= 0xdfff) ? String.fromCodePoint(n) : '\ufffd';
}

/** strconv's exponent: sign and at least two digits. */
function goExponent(text: string): string {
  return text.replace(/e([-+])(\d)$/, 'e$10$2');
}

/** strconv.FormatFloat(f, 'g', precision): at most `precision` significant digits, no trailing zeros. */
function formatG(f: number, precision: number | undefined): string {
  if (precision === undefined || !Number.isFinite(f) || f === 0) return formatFloatG(f);
  const rounded = Number(f.toPrecision(Math.max(precision, 1)));
  const digits = rounded.toExponential().split('e')[0]?.replace(/[-.]/g, '') ?? '';
  const exp = Math.floor(Math.log10(Math.abs(rounded)));
  let eprec = Math.max(precision, 1);
  if (eprec > digits.length && digits.length >= exp + 1) eprec = digits.length;
  if (exp < -4 || exp >= eprec) return goExponent(rounded.toExponential(digits.length - 1));
  return rounded.toFixed(Math.max(digits.length - (exp + 1), 0));
}

/** strconv's 'x' format, shortest: `0x1.8p+00`. */
function hexFloat(f: number): string {
  const abs = Math.abs(f);
  const sign = f < 0 || Object.is(f, -0) ? '-' : '';
  if (abs === 0) return `${sign}0x0p+00`;
  let exp = Math.floor(Math.log2(abs));
  let mantissa = abs / 2 ** exp;
  if (mantissa >= 2) [mantissa, exp] = [mantissa / 2, exp + 1];
  if (mantissa < 1) [mantissa, exp] = [mantissa * 2, exp - 1];
  let fraction = '';
  // Scaling by 16 and dropping the integer part is exact in binary floating point.
  for (let rest = mantissa - 1; rest > 0;) {
    rest *= 16;
    const digit = Math.floor(rest);
    fraction += digit.toString(16);
    rest -= digit;
  }
  const e = Math.abs(exp);
  return `${sign}0x1${fraction ? `.${fraction}` : ''}p${exp < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
}

/** float64: %v %g %G %e %E %f %F %x %X. */
function formatFloat(verb: string, arg: GoFloat, spec: Spec): string {
  const f = arg.value;
  let text: string;
  if (!Number.isFinite(f)) text = Number.isNaN(f) ? 'NaN' : f > 0 ? '+Inf' : '-Inf';
  else if (verb === 'v') text = formatFloatG(f);
  else if (verb === 'g' || verb === 'G') text = formatG(f, spec.precision);
  else if (verb === 'e' || verb === 'E') text = goExponent(f.toExponential(spec.precision ?? 6));
  else if (verb === 'f' || verb === 'F') text = f.toFixed(spec.precision ?? 6);
  else if ((verb === 'x' || verb === 'X') && spec.precision === undefined) text = hexFloat(f);
  else return bad(verb, arg);
  if (verb === 'G' || verb === 'E' || verb === 'X') text = text.toUpperCase();
  return pad(signed(text, f, spec), spec, Number.isFinite(f));
}

function signed(text: string, value: number, spec: Spec): string {
  if (value >= 0 && spec.plus) return `+${text}`;
  if (value >= 0 && spec.space) return ` ${text}`;
  return text;
}

const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const quoteEscapes: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '"': '\\"',
  '\\': '\\\\',
};

/** strconv.Quote: a double-quoted Go string literal. */
export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const escaped = quoteEscapes[ch];
    if (escaped !== undefined) {
      out += escaped;
      continue;
    }
    if (printable.test(ch)) {
      out += ch;
      continue;
    }
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x80) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}
