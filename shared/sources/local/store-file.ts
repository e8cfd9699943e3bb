import { statSync, type BigIntStats } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { isMap, parseDocument, stringify } from 'yaml';
import { StoreError } from '../../core/errors.js';

/**
 * The local store format (README "The local store"). A store is one JSON/YAML file, or a
 * folder of them, mapping secret names to entries. An entry is either
 *
 * - the simple form: a string, or any other JSON value that is not a mapping with a
 *   `versions` list (one version, id "1"); or
 * - the history form: `{ versions: [ { id?, created?, value | valueBase64, enabled? } ], current? }`
 *   where `id` defaults to the 1-based position, `enabled` to true and `current` to the
 *   last enabled version.
 *
 * Error messages name files, secret names and positions only: never a value.
 */

/** One version, normalised. `value` is the JSON value as written (string, object, ...). */
export interface LocalVersion {
  id: string;
  created?: string;
  enabled: boolean;
  /** The value as it appears in the file; `bytes` is what a read returns. */
  value: unknown;
  bytes: Uint8Array;
}

export interface LocalEntry {
  name: string;
  /** The file holding it (folder stores hold many files). */
  file: string;
  versions: LocalVersion[];
  /** The explicit `current` pointer, when the file has one. */
  currentPointer?: string;
}

export interface LocalStore {
  /** The path the store was opened from (file or folder). */
  path: string;
  isFolder: boolean;
  /** The files the store is made of (one for file stores). */
  files: string[];
  entries: Map<string, LocalEntry>;
}

const STORE_EXTENSIONS = new Set(['.json', '.yaml', '.yml']);

/** Whether a file name inside a folder store is a store file (hidden and temp files are not). */
export function isStoreFileName(fileName: string): boolean {
  return !fileName.startsWith('.') && STORE_EXTENSIONS.has(extname(fileName).toLowerCase());
}

/** The version a read without a version returns: the `current` pointer when enabled, else the last enabled one. */
export function currentVersionOf(entry: LocalEntry): LocalVersion | undefined {
  if (entry.currentPointer !== undefined) {
    const pointed = entry.versions.find((v) => v.id === entry.currentPointer);
    if (pointed?.enabled === true) return pointed;
  }
  for (let i = entry.versions.length - 1; i >= 0; i--) {
    const version = entry.versions[i];
    if (version?.enabled === true) return version;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : typeof value;
}

/** Strings are stored as UTF-8; any other JSON value as its compact JSON text. */
export function toBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
}

/**
 * The friendliest way to keep `bytes` in the file while reading back exactly the same bytes:
 * a JSON object when the bytes are its compact JSON, a string when they are UTF-8 text,
 * base64 otherwise.
 */
export function fromBytes(bytes: Uint8Array): { value: unknown } | { valueBase64: string } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { valueBase64: Buffer.from(bytes).toString('base64') };
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed) && JSON.stringify(parsed) === text) return { value: parsed };
  } catch {
    // Not JSON: kept as text.
  }
  return { value: text };
}

function scalarId(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  return undefined;
}

function parseEntry(name: string, raw: unknown, file: string): LocalEntry {
  const at = `${file}: secret "${name}"`;
  if (!isRecord(raw) || !('versions' in raw)) {
    if (raw === null || raw === undefined) throw new StoreError(`${at}: has no value`, { retryable: false });
    return { name, file, versions: [{ id: '1', enabled: true, value: raw, bytes: toBytes(raw) }] };
  }
  const unknownKeys = Object.keys(raw).filter((k) => k !== 'versions' && k !== 'current');
  if (unknownKeys.length > 0) {
    throw new StoreError(
      `${at}: unknown key(s) ${unknownKeys.map((k) => `"${k}"`).join(', ')} (an entry with "versions" may only have "versions" and "current")`,
      { retryable: false },
    );
  }
  if (!Array.isArray(raw['versions'])) {
    throw new StoreError(`${at}.versions: expected a list, got ${kindOf(raw['versions'])}`, {
      retryable: false,
    });
  }
  const versions: LocalVersion[] = [];
  const seen = new Set<string>();
  raw['versions'].forEach((item: unknown, i: number) => {
    const vat = `${at}.versions[${i}]`;
    if (!isRecord(item))
      throw new StoreError(`${vat}: expected a mapping with "value", got ${kindOf(item)}`, {
        retryable: false,
      });
    const extra = Object.keys(item).filter(
      (k) => !['id', 'created', 'value', 'valueBase64', 'enabled'].includes(k),
    );
    if (extra.length > 0) {
      throw new StoreError(
        `${vat}: unknown key(s) ${extra.map((k) => `"${k}"`).join(', ')} (allowed: id, created, value, valueBase64, enabled)`,
        { retryable: false },
      );
    }
    const id = item['id'] === undefined ? String(i + 1) : scalarId(item['id']);
    if (id === undefined)
      throw new StoreError(`${vat}.id: expected a non-empty string or integer, got ${kindOf(item['id'])}`, {
        retryable: false,
      });
    if (seen.has(id)) throw new StoreError(`${vat}.id: duplicate version id "${id}"`, { retryable: false });
    seen.add(id);
    const enabled = item['enabled'] ?? true;
    if (typeof enabled !== 'boolean')
      throw new StoreError(`${vat}.enabled: expected true or false, got ${kindOf(enabled)}`, {
        retryable: false,
      });
    const created = item['created'];
    let createdText: string | undefined;
    if (created instanceof Date) createdText = created.toISOString();
    else if (typeof created === 'string' && !Number.isNaN(Date.parse(created))) createdText = created;
    else if (created !== undefined)
      throw new StoreError(`${vat}.created: expected an ISO-8601 time such as 2026-01-31T12:00:00Z`, {
        retryable: false,
      });
    const hasValue = 'value' in item && item['value'] !== undefined;
    const hasBase64 = 'valueBase64' in item && item['valueBase64'] !== undefined;
    if (hasValue === hasBase64)
      throw new StoreError(`${vat}: needs exactly one of "value" or "valueBase64"`, { retryable: false });
    let bytes: Uint8Array;
    let value: unknown;
    if (hasBase64) {
      const b64 = item['valueBase64'];
      if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
        throw new StoreError(`${vat}.valueBase64: expected base64 text`, { retryable: false });
      }
      bytes = new Uint8Array(Buffer.from(b64, 'base64'));
      value = { valueBase64: b64 };
    } else {
      value = item['value'];
      if (value === null) throw new StoreError(`${vat}.value: is null`, { retryable: false });
      bytes = toBytes(value);
    }
    versions.push({
      id,
      enabled,
      value,
      bytes,
      ...(createdText === undefined ? {} : { created: createdText }),
    });
  });
  const entry: LocalEntry = { name, file, versions };
  if (raw['current'] !== undefined) {
    const current = scalarId(raw['current']);
    if (current === undefined || !seen.has(current)) {
      throw new StoreError(
        `${at}.current: must name one of the version ids (${[...seen].join(', ') || 'none'})`,
        { retryable: false },
      );
    }
    entry.currentPointer = current;
  }
  return entry;
}

/** `offset` in `text` as "at line L, column C" (1-based). */
function positionOf(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return ` at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

/**
 * Whether valid JSON `text` repeats a key within one object: JSON.parse would keep the last
 * silently, where the YAML parser refuses it. A string in an object is a key when a colon
 * follows it; strings are matched whole, so brackets inside them do not count.
 */
function hasDuplicateKey(text: string): boolean {
  const token = /"(?:[^"\\]|\\.)*"|[{}[\]]/g;
  const open: (Set<string> | undefined)[] = [];
  for (let match = token.exec(text); match !== null; match = token.exec(text)) {
    const t = match[0];
    if (t === '{') open.push(new Set());
    else if (t === '[') open.push(undefined);
    else if (t === '}' || t === ']') open.pop();
    else {
      const keys = open.at(-1);
      if (keys === undefined) continue;
      let next = token.lastIndex;
      while (next < text.length && text.charCodeAt(next) <= 0x20) next++;
      if (text[next] !== ':') continue;
      const key = t.includes('\\') ? (JSON.parse(t) as string) : t.slice(1, -1);
      if (keys.has(key)) return true;
      keys.add(key);
    }
  }
  return false;
}

/**
 * A `.json` store is read with JSON.parse, about a hundred times faster than the YAML parser
 * on the same text (a fleet's token file of 1,500 entries: under 1 ms against about 90 ms).
 * Text JSON.parse refuses, or with a repeated key, goes to the YAML parser as before: it
 * reads what YAML accepts (trailing commas, comments) and reports the rest by position,
 * where JSON.parse's own messages quote the text.
 */
function parseJsonStore(text: string, file: string): unknown {
  try {
    const raw: unknown = JSON.parse(text);
    if (!hasDuplicateKey(text)) return raw;
  } catch {
    // The YAML parser says where.
  }
  return parseYamlStore(text, file);
}

function parseYamlStore(text: string, file: string): unknown {
  // prettyErrors off: YAML's pretty errors quote the offending line, which may hold a value.
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    const offset = first.pos[0];
    throw new StoreError(
      `local store file ${file} is not valid JSON/YAML${positionOf(text, offset)} (${first.code})`,
      { retryable: false },
    );
  }
  return doc.toJS();
}

async function parseFile(file: string): Promise<Map<string, LocalEntry>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new StoreError(`cannot read local store file ${file}: ${code}`, { retryable: code !== 'ENOENT' });
  }
  const raw =
    extname(file).toLowerCase() === '.json' ? parseJsonStore(text, file) : parseYamlStore(text, file);
  const entries = new Map<string, LocalEntry>();
  if (raw === null || raw === undefined) return entries;
  if (!isRecord(raw))
    throw new StoreError(`local store file ${file}: expected a mapping of secret names, got ${kindOf(raw)}`, {
      retryable: false,
    });
  for (const [name, value] of Object.entries(raw)) entries.set(name, parseEntry(name, value, file));
  return entries;
}

/**
 * Parsed files, reused while the file is unchanged. Every read of a local source loads the
 * store, and cluster tokens kept in one file are read once per cluster: without this a
 * fleet of N clusters parses an N-entry file N times. A file counts as unchanged while its
 * inode, size and nanosecond mtime/ctime are; writes go through a rename, so they always
 * change the inode. Concurrent readers share one parse. Entries are never mutated.
 *
 * The check is a synchronous stat: about 3 µs, where the thread-pool round trip of an async
 * one costs 20-40 µs of CPU, paid once per cluster when a fleet's tokens live in one file.
 */
const parsed = new Map<string, { signature: string; entries: Promise<Map<string, LocalEntry>> }>();

/** `known`: the file's stat when the caller already has it (a file store's own stat). */
async function parseFileCached(file: string, known?: BigIntStats): Promise<Map<string, LocalEntry>> {
  let info = known;
  if (info === undefined) {
    try {
      info = statSync(file, { bigint: true });
    } catch {
      return parseFile(file); // reports the error the way an uncached read does
    }
  }
  const signature = `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
  const hit = parsed.get(file);
  if (hit?.signature === signature) return hit.entries;
  const entries = parseFile(file);
  parsed.set(file, { signature, entries });
  void entries.catch(() => {
    if (parsed.get(file)?.entries === entries) parsed.delete(file);
  });
  return entries;
}

/** Reads the whole store at `path` (a file, or a folder of store files). */
export async function loadLocalStore(path: string): Promise<LocalStore> {
  let info: BigIntStats;
  try {
    info = statSync(path, { bigint: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new StoreError(
      `local store ${path} cannot be opened: ${code}${code === 'ENOENT' ? ' (create the file or fix the source path)' : ''}`,
      { retryable: false },
    );
  }
  const isFolder = info.isDirectory();
  const files = isFolder
    ? (await readdir(path))
        .filter(isStoreFileName)
        .sort()
        .map((f) => join(path, f))
    : [path];
  // A file store is its one parsed file (shared, never mutated): no per-read copy, which
  // matters when a fleet's cluster tokens are read from one file once per cluster.
  if (!isFolder) return { path, isFolder, files, entries: await parseFileCached(path, info) };
  const entries = new Map<string, LocalEntry>();
  for (const file of files) {
    for (const [name, entry] of await parseFileCached(file)) {
      const existing = entries.get(name);
      if (existing !== undefined) {
        throw new StoreError(
          `local store ${path}: secret "${name}" is defined in both ${basename(existing.file)} and ${basename(file)}`,
          { retryable: false },
        );
      }
      entries.set(name, entry);
    }
  }
  return { path, isFolder, files, entries };
}

/** The history-form entry as it is written back to a file. */
function toFileEntry(entry: LocalEntry): Record<string, unknown> {
  return {
    versions: entry.versions.map((v) => {
      const out: Record<string, unknown> = { id: v.id };
      if (v.created !== undefined) out['created'] = v.created;
      Object.assign(out, fromBytes(v.bytes));
      if (!v.enabled) out['enabled'] = false;
      return out;
    }),
    ...(entry.currentPointer === undefined ? {} : { current: entry.currentPointer }),
  };
}

/**
 * Replaces (or adds) one entry in `file`, keeping the file's format; YAML comments elsewhere
 * in the file survive. Written to a temp file and renamed so readers never see half a file.
 */
export async function writeEntry(file: string, entry: LocalEntry): Promise<void> {
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const isJson = extname(file).toLowerCase() === '.json';
  let out: string;
  if (isJson) {
    let parsed: unknown = {};
    try {
      if (text.trim() !== '') parsed = JSON.parse(text);
    } catch {
      // JSON.parse messages quote the text, which may hold values.
      throw new StoreError(`local store file ${file} is not valid JSON; not written`, { retryable: false });
    }
    const obj = isRecord(parsed) ? parsed : {};
    obj[entry.name] = toFileEntry(entry);
    out = `${JSON.stringify(obj, null, 2)}\n`;
  } else {
    const doc = parseDocument(text);
    if (!isMap(doc.contents)) out = stringify({ [entry.name]: toFileEntry(entry) });
    else {
      doc.setIn([entry.name], doc.createNode(toFileEntry(entry)));
      out = doc.toString();
    }
  }
  await mkdir(dirname(file), { recursive: true });
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  await writeFile(temp, out, { mode: 0o600 });
  await rename(temp, file);
}
