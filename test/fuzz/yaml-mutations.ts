import { parse, stringify } from 'yaml';
import { REGISTRY_LIMITS } from '../../shared/registry/load.js';
import { mutate, type Rng } from './mutate.js';

/**
 * Mutations of registry YAML: the JSON mutations applied to the parsed document, and
 * text-level attacks JSON cannot express (alias bombs, deep nesting, unresolved aliases,
 * merge keys, tags, truncation, oversized documents).
 */

/** `width` aliases per level over `depth` levels: width^depth nodes once expanded. */
function aliasBomb(rng: Rng): string {
  const width = 2 + rng.int(15);
  const depth = 2 + rng.int(12);
  const lines = [`bomb0: &b0 [${Array(width).fill('x').join(', ')}]`];
  for (let i = 1; i <= depth; i++)
    lines.push(
      `bomb${i}: &b${i} [${Array(width)
        .fill(`*b${i - 1}`)
        .join(', ')}]`,
    );
  return lines.join('\n');
}

function deepFlow(rng: Rng): string {
  const depth = rng.pick([10, 63, 65, 200, 5_000, 50_000]);
  return `deep: ${'['.repeat(depth)}${']'.repeat(rng.chance(0.8) ? depth : rng.int(depth))}`;
}

function deepBlock(rng: Rng): string {
  const depth = rng.pick([10, 70, 300]);
  return Array.from({ length: depth }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + ' x';
}

/** A line or two of YAML that is odd where it lands. */
const JUNK: readonly ((rng: Rng) => string)[] = [
  () => 'x: *nowhere',
  () => '<<: *nowhere',
  () => 'a: &a {k: v}\nb: {<<: *a}',
  () => 'x: !!binary aGVsbG8=',
  () => 'x: !custom tag',
  () => 'apiVersion: secret-propagator/v1',
  () => '__proto__: {polluted: true}',
  () => '? [complex, key]\n: value',
  () => '\t\ttabbed: 1',
  (rng) => `x: "${'\\u0000'.repeat(1 + rng.int(5))}"`,
  () => '---\napiVersion: secret-propagator/v1',
];

function insertAt(rng: Rng, text: string, insert: string): string {
  const lines = text.split('\n');
  lines.splice(rng.int(lines.length + 1), 0, insert);
  return lines.join('\n');
}

/** A mutant of a registry document (text in, text out). */
export function mutateYaml(rng: Rng, seed: string): string {
  const roll = rng.int(100);
  // stringify gives undefined for a document mutated into nothing: an empty file.
  if (roll < 60) return stringify(mutate(rng, parse(seed) as unknown)) ?? '';
  if (roll < 70) return `${seed}\n${aliasBomb(rng)}\n`;
  if (roll < 75) return `${seed}\n${deepFlow(rng)}\n`;
  if (roll < 78) return `${seed}\n${deepBlock(rng)}\n`;
  if (roll < 92) return insertAt(rng, seed, rng.pick(JUNK)(rng));
  if (roll < 99) return seed.slice(0, rng.int(seed.length));
  // Rare and costly: just over the size limit.
  return `${seed}\n#${'x'.repeat(REGISTRY_LIMITS.maxDocumentChars)}\n`;
}
