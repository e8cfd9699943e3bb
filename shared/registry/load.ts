import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isPair, isSeq, parseDocument, type Document } from 'yaml';
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

/**
 * Limits on the registry text, so a hostile or broken file is refused with a message
 * instead of exhausting memory or the stack. A registry of 1,500 clusters and as many
 * bindings is about 1 MB and 8 levels deep; aliases are for sharing a labels block.
 */
export const REGISTRY_LIMITS = {
  /** Characters in the document. */
  maxDocumentChars: 8 * 1024 * 1024,
  /** Nested mappings and lists. */
  maxDepth: 64,
  /** The yaml package's weighted count of alias expansions (its `maxAliasCount`). */
  maxAliasCount: 100,
} as const;

/** Renders a zod path the way users write it: `bindings[2].target.namespace`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? '(root)' : out;
}

/** True when a union branch refused the value's type itself (`false` vs a mapping), not its content. */
function isWrongShape(issues: readonly z.core.$ZodIssue[]): boolean {
  return issues.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value'));
}

/**
 * A union names the branch that fits the value's shape, with that branch's own problems
 * (`restart.kinds[0]: must be one of ...`), rather than zod's bare "Invalid input".
 */
function formatUnion(issue: z.core.$ZodIssueInvalidUnion, at: string): string[] {
  const branches = issue.errors.filter((branch) => branch.length > 0 && !isWrongShape(branch));
  const prefixed = (branch: readonly z.core.$ZodIssue[]) =>
    branch.flatMap((inner) => formatIssue({ ...inner, path: [...issue.path, ...inner.path] }));
  if (branches.length === 1 && branches[0] !== undefined) return prefixed(branches[0]);
  if (branches.length === 0) return [`${at}: ${issue.message}`];
  // Several branches fit the shape (a selector by labels or by names): name each one's problems, relative to `at`.
  const forms = branches.map((branch) =>
    branch
      .flatMap((inner) => formatIssue(inner))
      .map((line) => line.replace(/^\(root\): /, ''))
      .join('; '),
  );
  return [`${at}: fits none of its forms: { ${forms.join(' } or { ')} }`];
}

function formatIssue(issue: z.core.$ZodIssue): string[] {
  const at = formatPath(issue.path);
  if (
    issue.code === 'invalid_union' &&
    !('discriminator' in issue && typeof issue.discriminator === 'string')
  )
    return formatUnion(issue, at);
  return [formatSimple(issue, at)];
}

function formatSimple(issue: z.core.$ZodIssue, at: string): string {
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
  const raw = readYaml(text, origin);
  const parsed = registrySchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new ConfigError(`registry ${origin} is invalid`, parsed.error.issues.flatMap(formatIssue));
  }
  const problems = crossCheck(parsed.data);
  if (problems.length > 0) throw new ConfigError(`registry ${origin} is inconsistent`, problems);
  return { registry: parsed.data, baseDir, origin };
}

/** Parses YAML within REGISTRY_LIMITS; every refusal is a ConfigError naming the limit. */
function readYaml(text: string, origin: string): unknown {
  const { maxDocumentChars, maxDepth, maxAliasCount } = REGISTRY_LIMITS;
  if (text.length > maxDocumentChars) {
    throw new ConfigError(
      `registry ${origin} is ${text.length} characters, over the limit of ${maxDocumentChars} (REGISTRY_LIMITS.maxDocumentChars)`,
    );
  }
  const tooDeep = () =>
    new ConfigError(`registry ${origin} nests deeper than ${maxDepth} levels (REGISTRY_LIMITS.maxDepth)`);
  // Checked on the text first: the parser takes a second to overflow on 50,000 brackets.
  if (flowDepthOf(text) > maxDepth) throw tooDeep();
  let doc: Document;
  try {
    doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, logLevel: 'error' });
  } catch (error) {
    if (error instanceof RangeError) throw tooDeep();
    throw error;
  }
  // The parser reports its own stack overflow as a document error.
  if (doc.errors.some((e) => e.message.includes('call stack'))) throw tooDeep();
  if (doc.errors.length > 0) {
    throw new ConfigError(
      `registry ${origin} is not valid YAML`,
      doc.errors.map((e) => e.message.split('\n')[0] ?? e.message),
    );
  }
  if (depthOf(doc.contents) > maxDepth) throw tooDeep();
  try {
    return doc.toJS({ maxAliasCount });
  } catch (error) {
    // yaml throws a ReferenceError for alias bombs and for aliases to unknown anchors.
    if (!(error instanceof ReferenceError)) throw error;
    const bomb = error.message.includes('Excessive alias count');
    throw new ConfigError(
      bomb
        ? `registry ${origin} expands its aliases more than ${maxAliasCount} times (REGISTRY_LIMITS.maxAliasCount)`
        : `registry ${origin} is not valid YAML`,
      bomb ? [] : [error.message],
    );
  }
}

/**
 * The deepest nesting of flow collections (`[`, `{`) in the text, outside quoted scalars
 * and comments. An over-estimate for brackets inside plain scalars, which only matters
 * past REGISTRY_LIMITS.maxDepth unclosed ones.
 */
function flowDepthOf(text: string): number {
  let depth = 0;
  let deepest = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quote !== undefined) {
      if (char === '\\' && quote === '"') i++;
      else if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === '#') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end;
    } else if (char === '[' || char === '{') {
      deepest = Math.max(deepest, ++depth);
    } else if ((char === ']' || char === '}') && depth > 0) {
      depth--;
    }
  }
  return deepest;
}

/** Nesting depth of a parsed YAML node, walked with an explicit stack (no recursion to overflow). */
function depthOf(root: unknown): number {
  let deepest = 0;
  const stack: { node: unknown; depth: number }[] = [{ node: root, depth: 0 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { node, depth } = item;
    if (isPair(node)) {
      stack.push({ node: node.key, depth }, { node: node.value, depth });
    } else if (isMap(node) || isSeq(node)) {
      deepest = Math.max(deepest, depth + 1);
      if (deepest > REGISTRY_LIMITS.maxDepth) return deepest;
      for (const child of node.items) stack.push({ node: child, depth: depth + 1 });
    }
  }
  return deepest;
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
