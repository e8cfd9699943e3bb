/**
 * Raw-preserving JSON access, as ESO does it: `property` is a gjson path (dot
 * separated, `\.` escapes a dot, numbers index arrays) whose result prints as gjson's
 * `Result.String()`; `dataFrom.extract` keeps nested values as their raw JSON text
 * (Go's json.RawMessage), strings unquoted.
 */

/** Index just past the JSON value starting at `i` (after whitespace), or -1 when malformed. */
function skipValue(text: string, i: number): number {
  i = skipSpace(text, i);
  const c = text[i];
  if (c === '"') {
    for (let j = i + 1; j < text.length; j++) {
      if (text[j] === '\\') j++;
      else if (text[j] === '"') return j + 1;
    }
    return -1;
  }
  if (c === '{' || c === '[') {
    const close = c === '{' ? '}' : ']';
    let j = skipSpace(text, i + 1);
    if (text[j] === close) return j + 1;
    for (;;) {
      if (c === '{') {
        j = skipValue(text, j);
        if (j < 0) return -1;
        j = skipSpace(text, j);
        if (text[j] !== ':') return -1;
        j++;
      }
      j = skipValue(text, j);
      if (j < 0) return -1;
      j = skipSpace(text, j);
      if (text[j] === ',') {
        j++;
        continue;
      }
      return text[j] === close ? j + 1 : -1;
    }
  }
  const m = /^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
  return m === null ? -1 : i + m[0].length;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && /[ \t\r\n]/.test(text[i] ?? '')) i++;
  return i;
}

/** Top-level entries of a JSON object as [key, raw value text], or undefined when not an object. */
export function rawObjectEntries(text: string): [string, string][] | undefined {
  let i = skipSpace(text, 0);
  if (text[i] !== '{') return undefined;
  const end = skipValue(text, i);
  if (end < 0 || skipSpace(text, end) !== text.length) return undefined;
  const entries: [string, string][] = [];
  i = skipSpace(text, i + 1);
  if (text[i] === '}') return entries;
  for (;;) {
    const keyEnd = skipValue(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    const valueStart = skipSpace(text, skipSpace(text, keyEnd) + 1);
    const valueEnd = skipValue(text, valueStart);
    entries.push([key, text.slice(valueStart, valueEnd)]);
    i = skipSpace(text, valueEnd);
    if (text[i] === ',') i = skipSpace(text, i + 1);
    else return entries;
  }
}

function rawArrayItems(text: string): string[] | undefined {
  let i = skipSpace(text, 0);
  if (text[i] !== '[') return undefined;
  const items: string[] = [];
  i = skipSpace(text, i + 1);
  if (text[i] === ']') return items;
  for (;;) {
    const end = skipValue(text, i);
    if (end < 0) return undefined;
    items.push(text.slice(i, end));
    i = skipSpace(text, end);
    if (text[i] === ',') i = skipSpace(text, i + 1);
    else return items;
  }
}

/** The text a raw JSON value turns into as a Secret value: strings unquoted, null empty, the rest raw. */
export function rawToString(raw: string): string {
  const c = raw[0];
  if (c === '"') return JSON.parse(raw) as string;
  if (raw === 'null') return '';
  if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
    if (/^-?\d+$/.test(raw)) return raw;
    // gjson prints non-integers with strconv 'f', -1: shortest digits, never an exponent.
    const n = Number(raw);
    const s = String(n);
    if (!s.includes('e')) return s;
    return n.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 });
  }
  return raw;
}

function splitPath(path: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === '\\' && i + 1 < path.length) {
      current += path[++i] ?? '';
    } else if (c === '.') {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

/**
 * Looks up `property` in a JSON text: an exact top-level key first (so `a.b` as a key
 * wins, as in ESO), then the dot path. Returns the raw JSON value, or undefined.
 */
export function lookupProperty(text: string, property: string): string | undefined {
  const top = rawObjectEntries(text);
  if (top === undefined) return undefined;
  const exact = top.find(([k]) => k === property);
  if (exact !== undefined) return exact[1];
  let raw: string | undefined = text.trim();
  for (const part of splitPath(property)) {
    if (raw === undefined) return undefined;
    const entries = rawObjectEntries(raw);
    if (entries !== undefined) {
      raw = entries.find(([k]) => k === part)?.[1];
      continue;
    }
    const items = rawArrayItems(raw);
    if (items === undefined || !/^\d+$/.test(part)) return undefined;
    raw = items[Number(part)];
  }
  return raw;
}
