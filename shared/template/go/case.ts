import { goToLower, goToUpper } from './text.js';

/**
 * Sprig's `snakecase`, `kebabcase` and `camelcase` follow the word rules of the xstrings
 * library (v1.5): words are runs of upper case letters, of other letters, of numbers,
 * of punctuation and of connectors (`-`, `_`, white space); CJK ideographs are not
 * letters there. These functions reproduce its output rune for rune.
 */

const goSpaceRe = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;
const upperRe = /\p{Lu}/u;
const letterRe = /\p{L}/u;
const numberRe = /\p{N}/u;
const punctRe = /\p{P}/u;

const isConnector = (ch: string) => ch === '-' || ch === '_' || goSpaceRe.test(ch);
const isUpper = (ch: string) => upperRe.test(ch);
const isNumber = (ch: string) => numberRe.test(ch);
const isPunct = (ch: string) => punctRe.test(ch);

/** A letter that is not a CJK ideograph. */
function isAlphabet(ch: string): boolean {
  if (!letterRe.test(ch)) return false;
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x3400) return true;
  if (cp >= 0x4e00 && cp <= 0x9fcc) return false;
  if (cp >= 0x3400 && cp <= 0x4d85) return false;
  return !(cp >= 0x20000 && cp <= 0x2b81d);
}

/** `camelcase`: words joined, each starting upper case; a run of capitals keeps only its first. */
export function toPascalCase(text: string): string {
  const chars = [...text];
  if (chars.length === 0) return '';
  let out = '';
  let i = 0;
  let r0 = '';
  let firstUpper = false;
  while (i < chars.length) {
    r0 = chars[i++] ?? '';
    if (!isConnector(r0)) {
      firstUpper = isUpper(r0);
      r0 = goToUpper(r0);
      break;
    }
    out += r0;
  }
  if (i >= chars.length) return out + r0;
  while (i < chars.length) {
    const r1 = r0;
    r0 = chars[i++] ?? '';
    if (isConnector(r0) && isConnector(r1)) {
      out += r1;
      continue;
    }
    if (isConnector(r1)) {
      firstUpper = isUpper(r0);
      r0 = goToUpper(r0);
    } else {
      if (firstUpper) {
        if (isUpper(r0)) r0 = goToLower(r0);
        else firstUpper = false;
      }
      out += r1;
    }
  }
  return out + r0;
}

type WordType = 'invalid' | 'number' | 'upper' | 'alphabet' | 'connector' | 'punct' | 'other';

interface Word {
  type: WordType;
  word: string[];
  rest: string[];
}

function takeWhile(chars: string[], from: number, keep: (ch: string) => boolean): number {
  let i = from;
  while (i < chars.length && keep(chars[i] ?? '')) i++;
  return i;
}

function nextWord(chars: string[]): Word {
  if (chars.length === 0) return { type: 'invalid', word: [], rest: [] };
  const r = chars[0] ?? '';
  const cut = (type: WordType, end: number): Word => ({
    type,
    word: chars.slice(0, end),
    rest: chars.slice(end),
  });
  if (isConnector(r)) return cut('connector', takeWhile(chars, 1, isConnector));
  if (isPunct(r)) return cut('punct', takeWhile(chars, 1, isPunct));
  if (isUpper(r)) {
    const second = chars[1];
    if (second === undefined) return cut('upper', 1);
    if (isUpper(second)) {
      const end = takeWhile(chars, 2, isUpper);
      // "HTTPServer": the last capital starts the next word.
      const next = chars[end];
      return cut('upper', next !== undefined && isAlphabet(next) ? end - 1 : end);
    }
    if (isAlphabet(second))
      return cut(
        'upper',
        takeWhile(chars, 2, (c) => isAlphabet(c) && !isUpper(c)),
      );
    return cut('upper', 1);
  }
  if (isAlphabet(r))
    return cut(
      'alphabet',
      takeWhile(chars, 1, (c) => isAlphabet(c) && !isUpper(c)),
    );
  if (isNumber(r)) return cut('number', takeWhile(chars, 1, isNumber));
  return cut(
    'other',
    takeWhile(chars, 1, (c) => !isConnector(c) && !isAlphabet(c) && !isNumber(c) && !isPunct(c)),
  );
}

function lowerWord(type: WordType, word: string[], connector: string): string {
  if (type !== 'upper' && type !== 'connector') return word.join('');
  return word.map((c) => (isConnector(c) ? connector : isUpper(c) ? goToLower(c) : c)).join('');
}

/** `snakecase` / `kebabcase`: words in lower case joined by the connector. */
export function toLowerWords(text: string, connector: string): string {
  if (text === '') return '';
  let out = '';
  let w = nextWord([...text]);
  const lower = (x: Word) => (out += lowerWord(x.type, x.word, connector));
  const ends = (t: WordType) => t === 'invalid' || t === 'punct' || t === 'connector';
  while (w.rest.length > 0) {
    if (w.type !== 'connector') lower(w);
    const prev = w;
    w = nextWord(w.rest);
    if (prev.type === 'number') {
      while (w.type === 'alphabet' || w.type === 'number') {
        lower(w);
        w = nextWord(w.rest);
      }
      if (!ends(w.type)) out += connector;
    } else if (prev.type === 'connector') {
      lower(prev);
    } else if (prev.type !== 'punct') {
      if (w.type !== 'number') {
        if (w.type !== 'connector' && w.type !== 'punct') out += connector;
        continue;
      }
      if (w.rest.length === 0) continue;
      const digits = w;
      w = nextWord(w.rest);
      if (w.type !== 'alphabet') {
        lower(digits);
        if (w.type !== 'connector' && w.type !== 'punct') out += connector;
        continue;
      }
      out += connector;
      lower(digits);
      while (w.type === 'alphabet' || w.type === 'number') {
        lower(w);
        w = nextWord(w.rest);
      }
      if (!ends(w.type)) out += connector;
    }
  }
  lower(w);
  return out;
}
