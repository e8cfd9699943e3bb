import type { LogFields } from '../core/ports.js';

/**
 * The redaction guard every log line passes through. It is a second line of defence:
 * the engine and adapters never put values in fields, and this guard makes a mistake
 * visible instead of leaking it.
 *
 * - A field whose *name* looks like it carries a value (`value`, `data`, `password`,
 *   `token`, `secret-value`, `secretValue`, `bytes`, `plaintext`, `privateKey`,
 *   `clientKey`, `apiKey`, `credentials`, `authorization`, `kubeconfig`, ...) is dropped,
 *   at any depth, and its name is listed under `redacted`.
 * - Strings longer than {@link MAX_STRING} characters are truncated (a stray PEM or
 *   JSON blob never lands whole in a log).
 * - `Error`s become `{ name, code, status, message }` with a truncated message; stacks
 *   and causes are dropped (SDK causes can embed response bodies).
 * - Byte arrays are replaced by their length; nesting deeper than {@link MAX_DEPTH} is cut.
 */
export const MAX_STRING = 512;
export const MAX_DEPTH = 4;

const SENSITIVE =
  /^(values?|data|string_?data|bytes|payload|plain_?text|password|passwd|pwd|pass_?phrase|token|tokens|access_?token|id_?token|refresh_?token|bearer|secret_?values?|secret_?string|secret_?binary|private_?key|client_?key(_?data)?|client_?secret|api_?key|credentials?|authorization|cookie|kubeconfig|ca_?key)$/i;

/** True when a field with this name is dropped by the guard. */
export function isSensitiveKey(name: string): boolean {
  return SENSITIVE.test(name.replace(/-/g, '_'));
}

export function truncate(text: string, max = MAX_STRING): string {
  return text.length <= max ? text : `${text.slice(0, max)}…(${text.length - max} more chars)`;
}

function redactValue(value: unknown, depth: number, dropped: string[], path: string): unknown {
  if (typeof value === 'string') return truncate(value);
  if (value === null || typeof value !== 'object') {
    return typeof value === 'function' || typeof value === 'symbol' ? String(typeof value) : value;
  }
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  if (value instanceof Error) {
    const error = value as Error & { code?: unknown; status?: unknown };
    return {
      name: error.name,
      ...(typeof error.code === 'string' ? { code: error.code } : {}),
      ...(typeof error.status === 'number' ? { status: error.status } : {}),
      message: truncate(error.message),
    };
  }
  if (depth >= MAX_DEPTH) return '<nested>';
  if (Array.isArray(value)) {
    return value.slice(0, 50).map((item, i) => redactValue(item, depth + 1, dropped, `${path}[${i}]`));
  }
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    const at = path === '' ? key : `${path}.${key}`;
    if (isSensitiveKey(key)) {
      dropped.push(at);
      continue;
    }
    out[key] = redactValue(inner, depth + 1, dropped, at);
  }
  return out;
}

/**
 * Applies the guard to one line's fields. Returns the safe fields, with the names of
 * dropped fields under `redacted` so the omission is visible.
 */
export function redactFields(fields: LogFields): Record<string, unknown> {
  const dropped: string[] = [];
  const safe = redactValue(fields, 0, dropped, '') as Record<string, unknown>;
  if (dropped.length > 0) safe['redacted'] = dropped;
  return safe;
}
