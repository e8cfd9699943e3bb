/**
 * YAML output as ESO's `toYaml` produces it (sigs.k8s.io/yaml: JSON -> go-yaml v2):
 * map keys sorted, two-space indentation, sequences not indented under their key,
 * strings plain when they would read back as the same string, double-quoted when they
 * would read back as another type (`"true"`, `"123"`, `""`), single-quoted when plain
 * is not allowed (`': '`, leading indicators), literal blocks for multi-line text.
 */

const BOOL_OR_NULL = new Set([
  'y',
  'Y',
  'yes',
  'Yes',
  'YES',
  'n',
  'N',
  'no',
  'No',
  'NO',
  'true',
  'True',
  'TRUE',
  'false',
  'False',
  'FALSE',
  'on',
  'On',
  'ON',
  'off',
  'Off',
  'OFF',
  '~',
  'null',
  'Null',
  'NULL',
  '<<',
]);

/** Whether go-yaml v2 would resolve this plain scalar to something other than a string. */
function resolvesToNonString(s: string): boolean {
  if (s === '' || BOOL_OR_NULL.has(s)) return true;
  if (/^[-+]?(0|[1-9][0-9_]*)$/.test(s)) return true;
  if (/^[-+]?0[0-7_]+$/.test(s) || /^[-+]?0x[0-9a-fA-F_]+$/.test(s) || /^[-+]?0b[01_]+$/.test(s)) return true;
  if (/^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$/.test(s)) return true;
  if (/^[-+]?\.(inf|Inf|INF)$/.test(s) || /^\.(nan|NaN|NAN)$/.test(s)) return true;
  // Timestamps (YAML 1.1 date / date-time forms).
  if (/^\d{4}-\d{1,2}-\d{1,2}([Tt ]\d{1,2}:\d{2}:\d{2}(\.\d*)?(Z|[-+]\d{1,2}(:\d{2})?)?)?$/.test(s))
    return true;
  return false;
}

/** libyaml's emitter check: may this string be written as a plain block scalar? */
function plainAllowed(s: string): boolean {
  if (/^(---|\.\.\.)/.test(s)) return false;
  if (/^[\s]|[\s]$/.test(s)) return false;
  if (/^[#,[\]{}&*!|>'"%@`]/.test(s)) return false;
  if (/^[-?:](\s|$)/.test(s)) return false;
  if (/: |:$| #/.test(s)) return false;
  // Non-printable characters force double quotes (handled by the caller).
  return true;
}

function needsDoubleQuotes(s: string): boolean {
  return /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u0080-\u009f\ufeff]/.test(s);
}

function doubleQuoted(s: string): string {
  return JSON.stringify(s).replace(
    /[\x7f\u0080-\u009f\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function scalarString(s: string, indent: string): string {
  if (needsDoubleQuotes(s)) return doubleQuoted(s);
  if (s.includes('\n')) {
    const chomp = s.endsWith('\n') ? (s.endsWith('\n\n') ? '+' : '') : '-';
    const lines = (s.endsWith('\n') ? s.slice(0, -1) : s).split('\n');
    const lead = /^[ \t]/.test(s) ? '2' : '';
    return `|${lead}${chomp}\n${lines.map((line) => (line === '' ? '' : `${indent}  ${line}`)).join('\n')}`;
  }
  if (resolvesToNonString(s)) return doubleQuoted(s);
  if (plainAllowed(s)) return s;
  return `'${s.replace(/'/g, "''")}'`;
}

function scalar(value: unknown, indent: string): string | undefined {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (Number.isInteger(value) && Math.abs(value) < 2 ** 63) return String(value);
    if (Number.isNaN(value)) return '.nan';
    if (!Number.isFinite(value)) return value > 0 ? '+.inf' : '-.inf';
    const [mantissa = '', exp = '0'] = value.toExponential().split('e');
    const e = Number(exp);
    return e < -4 || e >= 21
      ? `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`
      : String(value);
  }
  if (typeof value === 'string') return scalarString(value, indent);
  return undefined;
}

function emit(value: unknown, indent: string): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return ['[]'];
    const lines: string[] = [];
    for (const item of value) {
      const simple = scalar(item, indent);
      if (simple !== undefined) {
        lines.push(`${indent}- ${simple}`);
        continue;
      }
      const inner = emit(item, `${indent}  `);
      if (inner.length === 1 && (inner[0] === '[]' || inner[0] === '{}'))
        lines.push(`${indent}- ${inner[0]}`);
      else lines.push(`${indent}- ${(inner[0] ?? '').slice(indent.length + 2)}`, ...inner.slice(1));
    }
    return lines;
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    if (keys.length === 0) return ['{}'];
    const lines: string[] = [];
    for (const key of keys) {
      const child = (value as Record<string, unknown>)[key];
      const name = scalarString(key, indent);
      const simple = scalar(child, indent);
      if (simple !== undefined) {
        lines.push(`${indent}${name}: ${simple}`);
        continue;
      }
      // Sequences sit at the key's indentation (go-yaml v2), maps one level deeper.
      const inner = emit(child, Array.isArray(child) ? indent : `${indent}  `);
      if (inner.length === 1 && (inner[0] === '[]' || inner[0] === '{}'))
        lines.push(`${indent}${name}: ${inner[0]}`);
      else lines.push(`${indent}${name}:`, ...inner);
    }
    return lines;
  }
  return [scalar(value, indent) ?? 'null'];
}

/** The YAML text of a plain (JSON-like) value, without the trailing newline (as ESO trims it). */
export function toGoYaml(value: unknown): string {
  return emit(value, '').join('\n');
}
