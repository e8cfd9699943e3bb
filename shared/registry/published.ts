import { createHash } from 'node:crypto';
import { ConfigError } from '../core/errors.js';
import type { LoadedRegistry } from './load.js';
import type { Registry } from './schema.js';

/**
 * The published registry: a registry that `publish` has already validated, written as one
 * JSON header line and the validated registry as compact JSON:
 *
 * ```
 * {"format":"secret-propagator/published-registry","formatVersion":1,"sha256":"<hex of the body>","clusters":1500,...}
 * {"apiVersion":"secret-propagator/v1","settings":{...},"clusters":[...],...}
 * ```
 *
 * The body carries every default already applied, so a function loads it with a hash check and
 * `JSON.parse`, without the schema or the cross-checks (the cost that grows with the fleet).
 */
export const PUBLISHED_FORMAT = 'secret-propagator/published-registry';

/**
 * Bumped whenever the validated registry's shape changes (a new field with a default, a renamed
 * one): a function refuses a form it does not know rather than run on a registry missing a default.
 */
export const PUBLISHED_FORMAT_VERSION = 1;

/** The header line of a published registry. */
export interface PublishedHeader {
  format: typeof PUBLISHED_FORMAT;
  formatVersion: number;
  /** SHA-256 of the body (the bytes after the header's newline), lowercase hex. */
  sha256: string;
  clusters: number;
  sources: number;
  bindings: number;
}

/** The published form of a validated registry (deterministic: the same registry gives the same bytes). */
export function toPublished(registry: Registry): string {
  const body = JSON.stringify(registry);
  const header: PublishedHeader = {
    format: PUBLISHED_FORMAT,
    formatVersion: PUBLISHED_FORMAT_VERSION,
    sha256: sha256(body),
    clusters: registry.clusters.length,
    sources: registry.sources.length,
    bindings: registry.bindings.length,
  };
  return `${JSON.stringify(header)}\n${body}`;
}

/** True when the text starts like a published registry (and not like YAML). */
export function isPublished(text: string): boolean {
  return text.startsWith(`{"format":"${PUBLISHED_FORMAT}"`);
}

/**
 * Loads a published registry: checks its format, format version and content hash, then parses
 * the body. It does not validate again; anything else is a ConfigError naming what is wrong.
 */
export function parsePublished(text: string, origin: string, baseDir = process.cwd()): LoadedRegistry {
  const newline = text.indexOf('\n');
  const refuse = (why: string) => new ConfigError(`published registry ${origin} is refused: ${why}`);
  if (newline === -1 || !isPublished(text)) throw refuse(`it is not a ${PUBLISHED_FORMAT} document`);
  const header = parseJson(text.slice(0, newline), () => refuse('its header is not JSON'));
  if (typeof header !== 'object' || header === null) throw refuse('its header is not an object');
  const { formatVersion, sha256: expected } = header as Partial<PublishedHeader>;
  if (formatVersion !== PUBLISHED_FORMAT_VERSION) {
    throw refuse(
      `format version ${String(formatVersion)} is not the one this function reads (${PUBLISHED_FORMAT_VERSION}); publish it again with this release's CLI`,
    );
  }
  const body = text.slice(newline + 1);
  const actual = sha256(body);
  if (actual !== expected) {
    throw refuse(`its content hash is ${actual}, the header says ${String(expected)} (truncated or edited)`);
  }
  const registry = parseJson(body, () => refuse('its body is not JSON')) as Registry;
  return { registry, baseDir, origin };
}

function parseJson(text: string, error: () => Error): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw error();
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
