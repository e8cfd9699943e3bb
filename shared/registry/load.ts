import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { crossCheck } from './cross-check.js';
import { registrySchema, type Registry } from './schema.js';

/** A validated registry plus where it came from (relative `local` paths resolve against `baseDir`). */
export interface LoadedRegistry {
  registry: Registry;
  /** The folder relative paths in the registry are resolved against. */
  baseDir: string;
  /** `REGISTRY_FILE` path, or "inline" for `REGISTRY`. */
  origin: string;
}

/** Renders a zod path the way users write it: `bindings[2].target.namespace`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? '(root)' : out;
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const at = formatPath(issue.path);
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined
        ? `${at}: required (expected ${issue.expected})`
        : `${at}: expected ${issue.expected}, got ${describe(issue.input)}`;
    case 'unrecognized_keys':
      return `${at}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (check the spelling against the registry reference)`;
    case 'invalid_union':
      if (
        'discriminator' in issue &&
        typeof issue.discriminator === 'string' &&
        issue.path.at(-1) !== issue.discriminator
      ) {
        return `${at}.${issue.discriminator}: ${issue.message}`;
      }
      return `${at}: ${issue.message}`;
    case 'invalid_value':
      return `${at}: must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${at}: ${issue.message}`;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : typeof value;
}

/**
 * Parses and validates registry YAML. Every problem is reported at once, each as
 * `path: reason`, in a `ConfigError`; nothing partial is ever returned.
 */
export function parseRegistry(text: string, origin = 'inline', baseDir = process.cwd()): LoadedRegistry {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      `registry ${origin} is not valid YAML`,
      doc.errors.map((e) => e.message.split('\n')[0] ?? e.message),
    );
  }
  const raw: unknown = doc.toJS();
  const parsed = registrySchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new ConfigError(`registry ${origin} is invalid`, parsed.error.issues.map(formatIssue));
  }
  const problems = crossCheck(parsed.data);
  if (problems.length > 0) throw new ConfigError(`registry ${origin} is inconsistent`, problems);
  return { registry: parsed.data, baseDir, origin };
}

export function loadRegistryFile(path: string): LoadedRegistry {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `cannot read registry file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  return parseRegistry(text, path, dirname(resolve(path)));
}

/**
 * The registry every function uses: `REGISTRY_FILE` (a path) or `REGISTRY` (inline YAML).
 */
export function loadRegistryFromEnv(env: NodeJS.ProcessEnv = process.env): LoadedRegistry {
  const file = env['REGISTRY_FILE'];
  const inline = env['REGISTRY'];
  if (file !== undefined && file !== '') return loadRegistryFile(file);
  if (inline !== undefined && inline !== '') return parseRegistry(inline, 'REGISTRY (inline)');
  throw new ConfigError('no registry configured: set REGISTRY_FILE to a path or REGISTRY to inline YAML');
}
