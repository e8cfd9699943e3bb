/**
 * Go's string functions where they differ from JavaScript's, for the Sprig functions
 * built on them: Go counts bytes, maps case one code point at a time (no `ß` → `SS`),
 * and has its own set of white space (U+0085 is space, U+FEFF is not).
 */

/** unicode.IsSpace. */
const goSpace = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const leadingSpace = new RegExp(`^[${goSpace}]+`, 'u');
const trailingSpace = new RegExp(`[${goSpace}]+$`, 'u');
const spaceByte = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0]);

/** strings.TrimSpace. */
export function goTrimSpace(text: string): string {
  return text.replace(leadingSpace, '').replace(trailingSpace, '');
}

/**
 * Sprig's `nospace` (goutils.DeleteWhiteSpace): it walks the UTF-8 bytes, reads each
 * byte as a code point, drops the white ones and writes the rest back as code points.
 * So ASCII text loses its spaces, and any other text comes back as Latin-1 mojibake when
 * something was removed (unchanged when nothing was). Reproduced, as ESO renders it.
 */
export function goNospace(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  if (!bytes.some((b) => spaceByte.has(b))) return text;
  let out = '';
  for (const b of bytes) if (!spaceByte.has(b)) out += String.fromCharCode(b);
  return out;
}

/**
 * Simple (one code point to one code point) case mappings where JavaScript's full
 * mapping gives several code points: Greek with ypogegrammeni uppercases to its
 * titlecase form, `İ` lowercases to `i`. Everything else with a multi-code-point full
 * mapping (`ß`, `ŉ`, ligatures...) has no simple mapping and stays as it is.
 */
function simpleUpper(cp: number): number {
  if ((cp >= 0x1f80 && cp <= 0x1f87) || (cp >= 0x1f90 && cp <= 0x1f97) || (cp >= 0x1fa0 && cp <= 0x1fa7))
    return cp + 8;
  if (cp === 0x1fb3 || cp === 0x1fc3 || cp === 0x1ff3) return cp + 9;
  return cp;
}

function mapCodePoints(text: string, map: (ch: string) => string, simple: (cp: number) => number): string {
  let out = '';
  for (const ch of text) {
    const mapped = map(ch);
    out += [...mapped].length === 1 ? mapped : String.fromCodePoint(simple(ch.codePointAt(0) ?? 0));
  }
  return out;
}

/** strings.ToUpper. */
export function goToUpper(text: string): string {
  return mapCodePoints(text, (ch) => ch.toUpperCase(), simpleUpper);
}

/** strings.ToLower. */
export function goToLower(text: string): string {
  return mapCodePoints(
    text,
    (ch) => ch.toLowerCase(),
    (cp) => (cp === 0x130 ? 0x69 : cp),
  );
}

/** strings.EqualFold (simple folding, code point by code point). */
export function goEqualFold(a: string, b: string): boolean {
  const x = [...a];
  const y = [...b];
  return x.length === y.length && x.every((ch, i) => goToLower(ch) === goToLower(y[i] ?? ''));
}

/**
 * Sprig's `trunc`: Go slices bytes. A cut inside a multi-byte character leaves a partial
 * UTF-8 sequence in Go's output; our strings are text, so that byte sequence becomes U+FFFD.
 */
export function goTrunc(count: number, text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  if (count < 0 && bytes.length + count > 0) return bytes.subarray(bytes.length + count).toString('utf8');
  if (count >= 0 && bytes.length > count) return bytes.subarray(0, count).toString('utf8');
  return text;
}

/** strings.Replace(s, old, new, -1): an empty `old` inserts `new` around every character. */
export function goReplaceAll(text: string, old: string, replacement: string): string {
  if (old !== '') return text.split(old).join(replacement);
  if (text === '') return replacement;
  return replacement + [...text].join(replacement) + replacement;
}

/** strings.Split: an empty separator splits into characters (code points, not UTF-16 units). */
export function goSplit(text: string, separator: string): string[] {
  return separator === '' ? [...text] : text.split(separator);
}
