import { createHash } from 'node:crypto';
import { GoCallError, TemplateExecError, arity, int, str, type TemplateFunction } from './args.js';
import { goSplit, goToLower, goToUpper } from './text.js';
import { toLowerWords, toPascalCase } from './case.js';
import { stringMap, strval, typedSlice, type GoValue } from './values.js';

/**
 * Sprig's string functions beyond the common ones in functions.ts, with Go's semantics:
 * byte offsets where Go slices bytes, Unicode classes as Go's `unicode` package has them,
 * and the word rules of the libraries Sprig delegates to (xstrings, goutils).
 */

const upperRe = /\p{Lu}/u;
const lowerRe = /\p{Ll}/u;
const titleRe = /\p{Lt}/u;
const letterRe = /\p{L}/u;
const digitRe = /\p{Nd}/u;
const goSpaceRe = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;

const isUpper = (ch: string) => upperRe.test(ch);
const isSpace = (ch: string) => goSpaceRe.test(ch);

/** Go slices strings by bytes: a panic (an error here) when the bounds are out of range. */
export function byteSlice(text: string, start: number, end?: number): string {
  const bytes = Buffer.from(text, 'utf8');
  const stop = end ?? bytes.length;
  if (start < 0 || stop > bytes.length || start > stop)
    throw new GoCallError(`runtime error: slice bounds out of range [${start}:${stop}]`);
  return bytes.subarray(start, stop).toString('utf8');
}

/** strings.Title: the first letter of each word in title case; words split at non-letters. */
function title(text: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of text) {
    out += isSeparator(prev) ? goToUpper(ch) : ch;
    prev = ch;
  }
  return out;
}

function isSeparator(ch: string): boolean {
  const cp = ch.codePointAt(0) ?? 0;
  if (cp <= 0x7f) return !/[A-Za-z0-9_]/.test(ch);
  if (letterRe.test(ch) || digitRe.test(ch)) return false;
  return isSpace(ch);
}

/** goutils.Uncapitalize: the first letter of each white-space separated word in lower case. */
function untitle(text: string): string {
  let next = true;
  let out = '';
  for (const ch of text) {
    if (isSpace(ch)) {
      next = true;
      out += ch;
    } else {
      out += next ? goToLower(ch) : ch;
      next = false;
    }
  }
  return out;
}

/**
 * goutils.SwapCase: upper (and title) case to lower, lower to upper. (goutils uses title
 * case after white space, which differs from upper case only for the digraphs ǅ ǈ ǋ ǲ.)
 */
function swapcase(text: string): string {
  let out = '';
  for (const ch of text) {
    if (isUpper(ch) || titleRe.test(ch)) out += goToLower(ch);
    else if (lowerRe.test(ch)) out += goToUpper(ch);
    else out += ch;
  }
  return out;
}

/** goutils.Initials: the first byte of each white-space separated word. */
function initials(text: string): string {
  let gap = true;
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    const ch = String.fromCharCode(b);
    if (isSpace(ch)) gap = true;
    else if (gap) {
      out += ch;
      gap = false;
    }
  }
  return out;
}

/** goutils.AbbreviateFull on bytes, with its errors (which Sprig turns into ""). */
function abbreviateFull(text: string, offsetIn: number, maxWidth: number): string {
  const bytes = Buffer.from(text, 'utf8');
  const s = (a: number, b = bytes.length) => byteSlice(text, a, b);
  if (text === '') return '';
  if (maxWidth < 4) return '';
  if (bytes.length <= maxWidth) return text;
  let offset = Math.min(offsetIn, bytes.length);
  if (bytes.length - offset < maxWidth - 3) offset = bytes.length - (maxWidth - 3);
  if (offset <= 4) return `${s(0, maxWidth - 3)}...`;
  if (maxWidth < 7) return '';
  if (offset + maxWidth - 3 < bytes.length) return `...${abbreviateFull(s(offset), 0, maxWidth - 3)}`;
  return `...${s(bytes.length - (maxWidth - 3))}`;
}

/** goutils.WrapCustom, on bytes as Go does (ASCII spaces are the only break points). */
function wrapCustom(text: string, width: number, newline: string, wrapLong: boolean): string {
  if (text === '') return '';
  const nl = newline === '' ? '\n' : newline;
  const size = Math.max(width, 1);
  const bytes = Buffer.from(text, 'utf8');
  const s = (a: number, b: number) => bytes.subarray(a, b).toString('utf8');
  let offset = 0;
  let out = '';
  while (bytes.length - offset > size) {
    if (bytes[offset] === 0x20) {
      offset++;
      continue;
    }
    const window = bytes.subarray(offset, Math.min(size + offset + 1, bytes.length));
    const space = window.lastIndexOf(0x20);
    if (space >= 0) {
      out += s(offset, offset + space) + nl;
      offset += space + 1;
    } else if (wrapLong) {
      out += s(offset, offset + size) + nl;
      offset += size;
    } else {
      const next = bytes.indexOf(0x20, size + offset);
      if (next < 0) {
        out += s(offset, bytes.length);
        offset = bytes.length;
      } else {
        out += s(offset, next) + nl;
        offset = next + 1;
      }
    }
  }
  return out + s(offset, bytes.length);
}

/** Sprig's substr: byte offsets; a negative start means from 0, a bad end means to the end. */
function substr(start: number, end: number, text: string): string {
  if (start < 0) return byteSlice(text, 0, end);
  if (end < 0 || end > Buffer.byteLength(text, 'utf8')) return byteSlice(text, start);
  return byteSlice(text, start, end);
}

/** strings.SplitN. */
function splitN(text: string, sep: string, n: number): string[] {
  if (n === 0) return [];
  const all = goSplit(text, sep);
  if (n < 0 || all.length <= n) return all;
  const head = all.slice(0, n - 1);
  return [...head, all.slice(n - 1).join(sep)];
}

function indexedMap(parts: string[]): GoValue {
  const entries: Record<string, string> = {};
  parts.forEach((part, i) => (entries[`_${i}`] = part));
  return stringMap(entries);
}

/** Sprig's strslice: a list's non-nil elements as strings, or the value itself as one string. */
export function toStrings(v: GoValue): string[] {
  if (Array.isArray(v)) return v.filter((e) => e !== null && e !== undefined).map(strval);
  if (v === null || v === undefined) return [];
  return [strval(v)];
}

/** Byte-wise comparison, as Go's sort.Strings orders. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** hash/adler32 over the UTF-8 bytes, as decimal text (Sprig prints it with %d). */
function adler32(text: string): string {
  let a = 1;
  let b = 0;
  for (const byte of Buffer.from(text, 'utf8')) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return String(((b << 16) | a) >>> 0);
}

/** base32.StdEncoding. */
function base32Encode(bytes: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  for (let i = 0; i < bytes.length; i += 5) {
    const chunk = [...bytes.subarray(i, i + 5)];
    const bits = chunk.reduce((acc, b) => acc * 256 + b, 0) * 2 ** (8 * (5 - chunk.length));
    const chars = Math.ceil((chunk.length * 8) / 5);
    for (let j = 0; j < 8; j++) {
      out += j < chars ? alphabet[Math.floor(bits / 2 ** (35 - 5 * j)) % 32] : '=';
    }
  }
  return out;
}

/** base32.StdEncoding.DecodeString: padded, CR and LF ignored; undefined when invalid. */
function base32Decode(text: string): Buffer | undefined {
  const clean = text.replace(/[\r\n]/g, '');
  if (clean.length % 8 !== 0) return undefined;
  const out: number[] = [];
  for (let i = 0; i < clean.length; i += 8) {
    const group = clean.slice(i, i + 8);
    const m = /^([A-Z2-7]*)(=*)$/.exec(group);
    const data = m?.[1] ?? '';
    if (m === null || ![8, 7, 5, 4, 2].includes(data.length)) return undefined;
    if (data.length < 8 && i + 8 !== clean.length) return undefined;
    let bits = 0;
    for (const ch of data) bits = bits * 32 + 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'.indexOf(ch);
    const count = Math.floor((data.length * 5) / 8);
    bits = Math.floor(bits / 2 ** (data.length * 5 - count * 8));
    for (let j = count - 1; j >= 0; j--) out.push(Math.floor(bits / 2 ** (8 * j)) % 256);
  }
  return Buffer.from(out);
}

/** Sprig's string functions, by name. */
export const stringFunctions: [string, TemplateFunction][] = [
  ['hello', (a) => (arity('hello', a, 0), 'Hello!')],
  ['title', (a) => (arity('title', a, 1), title(str('title', a, 0)))],
  ['untitle', (a) => (arity('untitle', a, 1), untitle(str('untitle', a, 0)))],
  ['swapcase', (a) => (arity('swapcase', a, 1), swapcase(str('swapcase', a, 0)))],
  ['initials', (a) => (arity('initials', a, 1), initials(str('initials', a, 0)))],
  [
    'abbrev',
    (a) => {
      arity('abbrev', a, 2);
      const [width, text] = [int('abbrev', a, 0), str('abbrev', a, 1)];
      return width < 4 ? text : abbreviateFull(text, 0, width);
    },
  ],
  [
    'abbrevboth',
    (a) => {
      arity('abbrevboth', a, 3);
      const [left, right, text] = [int('abbrevboth', a, 0), int('abbrevboth', a, 1), str('abbrevboth', a, 2)];
      return right < 4 || (left > 0 && right < 7) ? text : abbreviateFull(text, left, right);
    },
  ],
  [
    'substr',
    (a) => (arity('substr', a, 3), substr(int('substr', a, 0), int('substr', a, 1), str('substr', a, 2))),
  ],
  [
    'trimall',
    (a) => {
      arity('trimall', a, 2);
      const set = new Set(str('trimall', a, 0));
      const chars = [...str('trimall', a, 1)];
      let [start, end] = [0, chars.length];
      while (start < end && set.has(chars[start] ?? '')) start++;
      while (end > start && set.has(chars[end - 1] ?? '')) end--;
      return chars.slice(start, end).join('');
    },
  ],
  ['split', (a) => (arity('split', a, 2), indexedMap(goSplit(str('split', a, 1), str('split', a, 0))))],
  [
    'splitn',
    (a) => (
      arity('splitn', a, 3),
      indexedMap(splitN(str('splitn', a, 2), str('splitn', a, 0), int('splitn', a, 1)))
    ),
  ],
  ['toStrings', (a) => (arity('toStrings', a, 1), typedSlice(toStrings(a[0]), 'string'))],
  ['wrap', (a) => (arity('wrap', a, 2), wrapCustom(str('wrap', a, 1), int('wrap', a, 0), '', false))],
  [
    'wrapWith',
    (a) => (
      arity('wrapWith', a, 3),
      wrapCustom(str('wrapWith', a, 2), int('wrapWith', a, 0), str('wrapWith', a, 1), true)
    ),
  ],
  [
    'plural',
    (a) => (arity('plural', a, 3), int('plural', a, 2) === 1 ? str('plural', a, 0) : str('plural', a, 1)),
  ],
  [
    'sortAlpha',
    (a) => {
      arity('sortAlpha', a, 1);
      const v = a[0];
      const items = Array.isArray(v) ? toStrings(v).sort(compareBytes) : [strval(v)];
      return typedSlice(items, 'string');
    },
  ],
  ['adler32sum', (a) => (arity('adler32sum', a, 1), adler32(str('adler32sum', a, 0)))],
  [
    'sha512sum',
    (a) => (
      arity('sha512sum', a, 1),
      createHash('sha512')
        .update(str('sha512sum', a, 0), 'utf8')
        .digest('hex')
    ),
  ],
  ['b32enc', (a) => (arity('b32enc', a, 1), base32Encode(Buffer.from(str('b32enc', a, 0), 'utf8')))],
  [
    'b32dec',
    (a) => {
      arity('b32dec', a, 1);
      const decoded = base32Decode(str('b32dec', a, 0));
      // Sprig would write Go's error text into the output; we refuse, as for b64dec.
      if (decoded === undefined)
        throw new TemplateExecError('error calling b32dec: input is not valid base32');
      return decoded.toString('utf8');
    },
  ],
  [
    'join',
    (a) => {
      arity('join', a, 2);
      return toStrings(a[1]).join(str('join', a, 0));
    },
  ],
  [
    'hexdec',
    (a) => {
      arity('hexdec', a, 1);
      const text = str('hexdec', a, 0);
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(text))
        throw new TemplateExecError('error calling hexdec: input is not valid hex');
      return Buffer.from(text, 'hex').toString('utf8');
    },
  ],
  ['snakecase', (a) => (arity('snakecase', a, 1), toLowerWords(str('snakecase', a, 0), '_'))],
  ['kebabcase', (a) => (arity('kebabcase', a, 1), toLowerWords(str('kebabcase', a, 0), '-'))],
  ['camelcase', (a) => (arity('camelcase', a, 1), toPascalCase(str('camelcase', a, 0)))],
];
