/**
 * Go's regexp (RE2 syntax) on JavaScript's engine. A Go pattern is translated construct
 * by construct into a JavaScript pattern that means the same thing (Go's `.` never
 * matches `\n`, `\s` is ASCII white space, `$` is the end of the text, `\A`, `\z`,
 * `\Q...\E`, POSIX classes, `\pN`); what Go rejects is rejected (`GoRegexSyntaxError`),
 * and what JavaScript cannot express the same way is refused (`UnsupportedRegexError`),
 * never approximated. The match loops reproduce Go's rules for empty matches.
 */

/** Go's regexp.Compile would fail on this pattern. */
export class GoRegexSyntaxError extends Error {}

/** Go accepts this pattern but we cannot translate it without changing its meaning. */
export class UnsupportedRegexError extends Error {}

const posixClasses: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

const categories = new Set(
  'C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(
    ' ',
  ),
);

const jsSyntax = new Set([...'^$\\.*+?()[]{}|/']);
const goSpaceClass = '\\t\\n\\f\\r ';

interface Translated {
  source: string;
  flags: string;
}

function literal(ch: string, inClass: boolean): string {
  if (inClass) return /[\\\]^\-[]/.test(ch) ? `\\${ch}` : ch;
  return jsSyntax.has(ch) ? `\\${ch}` : ch;
}

/** `\p{Greek}`, `\pL`, `\P{^Lu}`: categories stay, script names become Script=. */
function unicodeClass(p: string, at: number): { text: string; end: number } {
  let negate = p[at] === 'P';
  let name: string;
  let end: number;
  if (p[at + 1] === '{') {
    const close = p.indexOf('}', at + 2);
    if (close < 0) throw new GoRegexSyntaxError('invalid character class range');
    name = p.slice(at + 2, close);
    end = close + 1;
  } else {
    name = p[at + 1] ?? '';
    end = at + 2;
  }
  if (name.startsWith('^')) {
    negate = !negate;
    name = name.slice(1);
  }
  if (!/^[A-Za-z_]+$/.test(name)) throw new GoRegexSyntaxError('invalid character class range');
  const body = name === 'Any' ? 'Any' : categories.has(name) ? name : `Script=${name}`;
  try {
    new RegExp(`\\p{${body}}`, 'u');
  } catch {
    throw new GoRegexSyntaxError('invalid character class range');
  }
  return { text: `\\${negate ? 'P' : 'p'}{${body}}`, end };
}

/** One backslash escape at `at` (the backslash); returns its JavaScript text. */
function escape(p: string, at: number, inClass: boolean): { text: string; end: number } {
  const c = p[at + 1];
  if (c === undefined) throw new GoRegexSyntaxError('trailing backslash at end of expression');
  const simple: Record<string, string> = { a: '\\x07', f: '\\f', t: '\\t', n: '\\n', r: '\\r', v: '\\v' };
  if (simple[c] !== undefined) return { text: simple[c], end: at + 2 };
  if ('dDwW'.includes(c)) return { text: `\\${c}`, end: at + 2 };
  if (c === 's') return { text: inClass ? goSpaceClass : `[${goSpaceClass}]`, end: at + 2 };
  if (c === 'S') {
    if (inClass) throw new UnsupportedRegexError('\\S inside a character class');
    return { text: `[^${goSpaceClass}]`, end: at + 2 };
  }
  if (!inClass && (c === 'b' || c === 'B')) return { text: `\\${c}`, end: at + 2 };
  if (!inClass && c === 'A') return { text: '(?<![\\s\\S])', end: at + 2 };
  if (!inClass && c === 'z') return { text: '(?![\\s\\S])', end: at + 2 };
  if (c === 'p' || c === 'P') return unicodeClass(p, at + 1);
  if (c === 'x') {
    const braced = /^\{([0-9A-Fa-f]{1,8})\}/.exec(p.slice(at + 2));
    const plain = /^[0-9A-Fa-f]{2}/.exec(p.slice(at + 2));
    const hex = braced?.[1] ?? plain?.[0];
    if (hex === undefined || parseInt(hex, 16) > 0x10ffff)
      throw new GoRegexSyntaxError('invalid escape sequence');
    return { text: `\\u{${parseInt(hex, 16).toString(16)}}`, end: at + 2 + (braced?.[0] ?? hex).length };
  }
  if (/[0-7]/.test(c)) {
    // Octal \0, \012; a lone \1..\7 would be a backreference, which Go rejects.
    const m = /^[0-7]{1,3}/.exec(p.slice(at + 1))?.[0] ?? c;
    if (c !== '0' && m.length < 2) throw new GoRegexSyntaxError('invalid escape sequence');
    return { text: `\\u{${parseInt(m, 8).toString(16)}}`, end: at + 1 + m.length };
  }
  if (/[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]/.test(c)) return { text: literal(c, inClass), end: at + 2 };
  throw new GoRegexSyntaxError('invalid escape sequence');
}

/** A bracket expression starting at `at`. */
function charClass(p: string, at: number): { text: string; end: number } {
  let i = at + 1;
  let out = '[';
  if (p[i] === '^') {
    out += '^';
    i++;
  }
  let first = true;
  for (;;) {
    const c = p[i];
    if (c === undefined) throw new GoRegexSyntaxError('missing closing ]');
    if (c === ']' && !first) return { text: `${out}]`, end: i + 1 };
    first = false;
    if (c === '[' && p[i + 1] === ':') {
      const m = /^\[:(\^?)([a-z]+):\]/.exec(p.slice(i));
      const set = m === null ? undefined : posixClasses[m[2] ?? ''];
      if (m !== null && set === undefined) throw new GoRegexSyntaxError('invalid character class range');
      if (m !== null && set !== undefined) {
        if (m[1] === '^') throw new UnsupportedRegexError('negated POSIX class');
        out += set;
        i += m[0].length;
        continue;
      }
    }
    if (c === '\\') {
      const e = escape(p, i, true);
      out += e.text;
      i = e.end;
      continue;
    }
    if (c === '-' && p[i + 1] !== ']' && out !== '[' && out !== '[^') {
      out += '-';
      i++;
      continue;
    }
    const ch = String.fromCodePoint(p.codePointAt(i) ?? 0);
    out += literal(ch, true);
    i += ch.length;
  }
}

/** Leading `(?flags)`: i, m, s apply to the whole pattern; anywhere else they are refused. */
function leadingFlags(p: string): { flags: Set<string>; start: number } {
  const m = /^\(\?([imsU]+)\)/.exec(p);
  if (m === null) return { flags: new Set(), start: 0 };
  const flags = new Set(m[1]);
  if (flags.has('U')) throw new UnsupportedRegexError('the U (ungreedy) flag');
  return { flags, start: m[0].length };
}

function group(p: string, at: number): { text: string; end: number } {
  if (p[at + 1] !== '?') return { text: '(', end: at + 1 };
  const rest = p.slice(at + 2);
  if (rest.startsWith(':')) return { text: '(?:', end: at + 3 };
  const named = /^P?<([A-Za-z0-9_]+)>/.exec(rest);
  if (named !== null) {
    if (/^[0-9]/.test(named[1] ?? '')) throw new GoRegexSyntaxError('invalid named capture');
    return { text: `(?<${named[1]}>`, end: at + 2 + named[0].length };
  }
  if (/^-?[imsU]+(-[imsU]*)?[:)]/.test(rest)) throw new UnsupportedRegexError('flags inside the pattern');
  throw new GoRegexSyntaxError('invalid or unsupported Perl syntax');
}

/** Translates a Go pattern; throws GoRegexSyntaxError or UnsupportedRegexError. */
export function translateGoRegex(pattern: string): Translated {
  const { flags, start } = leadingFlags(pattern);
  const multiline = flags.has('m');
  let out = '';
  let i = start;
  while (i < pattern.length) {
    const c = pattern[i] ?? '';
    let piece: { text: string; end: number };
    if (c === '\\') piece = escape(pattern, i, false);
    else if (c === '[') piece = charClass(pattern, i);
    else if (c === '(') piece = group(pattern, i);
    else if (c === '.') piece = { text: flags.has('s') ? '[\\s\\S]' : '[^\\n]', end: i + 1 };
    else if (c === '^') piece = { text: multiline ? '(?<![^\\n])' : '(?<![\\s\\S])', end: i + 1 };
    else if (c === '$') piece = { text: multiline ? '(?![^\\n])' : '(?![\\s\\S])', end: i + 1 };
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
      if (m !== null && (Number(m[1]) > 1000 || Number(m[3] || 0) > 1000))
        throw new GoRegexSyntaxError('invalid repeat count');
      piece = m !== null ? { text: m[0], end: i + m[0].length } : { text: '\\{', end: i + 1 };
    } else if (c === '}' || c === ']') piece = { text: `\\${c}`, end: i + 1 };
    else {
      const ch = String.fromCodePoint(pattern.codePointAt(i) ?? 0);
      piece = { text: ch === '/' ? '\\/' : ch, end: i + ch.length };
    }
    out += piece.text;
    i = piece.end;
  }
  return { source: out, flags: `gu${flags.has('i') ? 'i' : ''}` };
}

/** A compiled Go pattern. */
export interface GoRegex {
  re: RegExp;
}

/** regexp.Compile. */
export function compileGoRegex(pattern: string): GoRegex {
  const t = translateGoRegex(pattern);
  let re: RegExp;
  try {
    re = new RegExp(t.source, t.flags);
  } catch {
    throw new GoRegexSyntaxError('invalid regular expression');
  }
  return { re };
}

/** One match: its groups (undefined when a group did not take part) and bounds. */
interface Match {
  start: number;
  end: number;
  groups: (string | undefined)[];
  named: Record<string, string | undefined>;
}

function execAt(re: RegExp, text: string, pos: number): Match | undefined {
  re.lastIndex = pos;
  const m = re.exec(text);
  if (m === null) return undefined;
  return { start: m.index, end: m.index + m[0].length, groups: [...m], named: { ...(m.groups ?? {}) } };
}

function charWidth(text: string, pos: number): number {
  const cp = text.codePointAt(pos);
  return cp !== undefined && cp > 0xffff ? 2 : 1;
}

/** Go's allMatches: no empty match right after the previous match; at most n (n < 0: all). */
export function findAll(rx: GoRegex, text: string, n: number): Match[] {
  const out: Match[] = [];
  let pos = 0;
  let prevEnd = -1;
  while ((n < 0 || out.length < n) && pos <= text.length) {
    const m = execAt(rx.re, text, pos);
    if (m === undefined) break;
    let accept = true;
    if (m.end === m.start) {
      if (m.start === prevEnd) accept = false;
      pos = m.start + (m.start < text.length ? charWidth(text, m.start) : 1);
    } else {
      pos = m.end;
    }
    prevEnd = m.end;
    if (accept) out.push(m);
  }
  return out;
}

/** Regexp.Expand's template: `$1`, `$name`, `${name}`, `$$`. */
function expand(template: string, m: Match): string {
  return template.replace(
    /\$(\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g,
    (_all, sym: string, braced?: string, bare?: string) => {
      if (sym === '$') return '$';
      const name = braced ?? bare ?? '';
      if (/^\d+$/.test(name)) return m.groups[Number(name)] ?? '';
      return m.named[name] ?? '';
    },
  );
}

/** Regexp.ReplaceAllString / ReplaceAllLiteralString. */
export function replaceAll(rx: GoRegex, text: string, replacement: string, literalText: boolean): string {
  let out = '';
  let lastEnd = 0;
  let search = 0;
  while (search <= text.length) {
    const m = execAt(rx.re, text, search);
    if (m === undefined) break;
    out += text.slice(lastEnd, m.start);
    if (m.end > lastEnd || m.start === 0) out += literalText ? replacement : expand(replacement, m);
    lastEnd = m.end;
    const width = search < text.length ? charWidth(text, search) : 1;
    if (search + width > m.end) search += width;
    else if (search + 1 > m.end) search++;
    else search = m.end;
  }
  return out + text.slice(lastEnd);
}

/** Regexp.Split. */
export function split(rx: GoRegex, pattern: string, text: string, n: number): string[] | undefined {
  if (n === 0) return undefined;
  if (pattern.length > 0 && text.length === 0) return [''];
  const out: string[] = [];
  let begin = 0;
  let end = 0;
  for (const m of findAll(rx, text, n)) {
    if (n > 0 && out.length === n - 1) break;
    end = m.start;
    if (m.end !== 0) out.push(text.slice(begin, end));
    begin = m.end;
  }
  if (end !== text.length) out.push(text.slice(begin));
  return out;
}

/** regexp.QuoteMeta. */
export function quoteMeta(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, (c) => `\\${c}`);
}
