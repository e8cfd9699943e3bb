import { GoFloat, formatFloatG, isMap, sprint, typeName, type GoValue } from './values.js';

/**
 * Go's fmt.Sprintf for the verbs templates use (%s %v %d %q %x %X %f %t %%), with
 * flags, width and precision, including Go's `%!d(string=...)`, `%!s(MISSING)` and
 * `%!(EXTRA ...)` markers so output matches Go byte for byte.
 */
export function sprintf(format: string, args: readonly GoValue[]): string {
  let out = '';
  let argIndex = 0;
  const re = /%([-+# 0]*)(\d+)?(?:\.(\d*))?([a-zA-Z%])/g;
  let last = 0;
  for (let m = re.exec(format); m !== null; m = re.exec(format)) {
    out += format.slice(last, m.index);
    last = re.lastIndex;
    const [, flags = '', width, precision, verb = ''] = m;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argIndex >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[argIndex++];
    const spec: Spec = {
      minus: flags.includes('-'),
      plus: flags.includes('+'),
      sharp: flags.includes('#'),
      zero: flags.includes('0') && !flags.includes('-'),
      space: flags.includes(' '),
      width: width === undefined ? undefined : Number(width),
      precision: precision === undefined ? undefined : Number(precision === '' ? '0' : precision),
    };
    out += formatOne(verb, arg, spec);
  }
  out += format.slice(last);
  if (argIndex < args.length) {
    const extra = args
      .slice(argIndex)
      .map((a) => (a === null || a === undefined ? '<nil>' : `${typeName(a)}=${sprint(a)}`));
    out += `%!(EXTRA ${extra.join(', ')})`;
  }
  return out;
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
      if (Array.isArray(arg) || (arg !== null && arg !== undefined && isMap(arg)))
        return pad(sprint(arg), spec, false);
      return bad(verb, arg);
    }
    case 'q':
      if (typeof arg === 'string')
        return pad(spec.sharp && !arg.includes('`') ? `\`${arg}\`` : goQuote(arg), spec, false);
      if (typeof arg === 'number') return pad(`'${String.fromCodePoint(arg)}'`, spec, false);
      return bad(verb, arg);
    case 'd':
      if (typeof arg === 'number') return pad(signed(String(Math.trunc(arg)), arg, spec), spec, true);
      return bad(verb, arg);
    case 'x':
    case 'X': {
      let hex: string;
      if (typeof arg === 'string') hex = Buffer.from(arg, 'utf8').toString('hex');
      else if (typeof arg === 'number') hex = (arg < 0 ? '-' : '') + Math.abs(Math.trunc(arg)).toString(16);
      else return bad(verb, arg);
      if (spec.sharp) hex = `0x${hex}`;
      return pad(verb === 'X' ? hex.toUpperCase() : hex, spec, true);
    }
    case 'f':
    case 'F':
      if (arg instanceof GoFloat)
        return pad(signed(arg.value.toFixed(spec.precision ?? 6), arg.value, spec), spec, true);
      return bad(verb, arg);
    case 'g':
      if (arg instanceof GoFloat) return pad(signed(formatFloatG(arg.value), arg.value, spec), spec, true);
      return bad(verb, arg);
    case 't':
      if (typeof arg === 'boolean') return pad(arg ? 'true' : 'false', spec, false);
      return bad(verb, arg);
    default:
      return bad(verb, arg);
  }
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
