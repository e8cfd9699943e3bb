import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChangeKind, PROVIDERS, type SecretChange } from '../../shared/core/change.js';
import { ConfigError, InvalidEventError } from '../../shared/core/errors.js';
import { normalizeEvent } from '../../shared/events/index.js';
import { isIsoTime } from '../../shared/events/fields.js';
import { parseRegistry } from '../../shared/registry/load.js';
import type { Registry } from '../../shared/registry/schema.js';
import { aRegistry } from '../registry/a-registry.js';
import type { Rng } from './mutate.js';
import { mutate } from './mutate.js';
import { mutateYaml } from './yaml-mutations.js';

const repoRoot = join(import.meta.dirname, '..', '..');
const fixtures = join(repoRoot, 'test', 'fixtures');

/** What one payload did: an allowed outcome, or a finding. */
export type Outcome =
  | { kind: 'accepted' | 'ignored' | 'refused' }
  | { kind: 'crash'; detail: string }
  | { kind: 'wrongly-accepted'; detail: string };

/** A fuzz target: the seeds it mutates and how one payload is judged. */
export interface FuzzTarget {
  name: string;
  seeds: readonly unknown[];
  /** A mutant of a seed (the seed is picked by the runner). */
  mutant(rng: Rng, seed: unknown): unknown;
  run(payload: unknown): Outcome;
}

function fixturesOf(provider: string): unknown[] {
  const dir = join(fixtures, provider);
  return ['valid', 'ignored', 'invalid'].flatMap((kind) =>
    readdirSync(join(dir, kind))
      .filter((file) => file.endsWith('.json'))
      .map((file) => JSON.parse(readFileSync(join(dir, kind, file), 'utf8')) as unknown),
  );
}

const KINDS = new Set<string>(Object.values(ChangeKind));
const nonEmpty = (value: unknown): boolean => typeof value === 'string' && value.trim() !== '';

/** Why a change breaks the SecretChange contract, or undefined when it keeps it. */
function changeProblem(change: SecretChange, provider: string): string | undefined {
  if (change.provider !== provider || !PROVIDERS.includes(change.provider)) return 'provider';
  if (typeof change.kind !== 'string' || !KINDS.has(change.kind)) return `kind is ${typeof change.kind}`;
  if (!nonEmpty(change.secretRef)) return 'secretRef empty or not a string';
  if (!nonEmpty(change.eventId)) return 'eventId empty or not a string';
  if (typeof change.time !== 'string' || !isIsoTime(change.time)) return 'time not ISO-8601';
  if (change.versionId !== undefined && !nonEmpty(change.versionId)) return 'versionId empty or not a string';
  return undefined;
}

/** The start of a payload, for reports (never more than a line). */
export function preview(payload: unknown): string {
  let text: string;
  try {
    text = typeof payload === 'string' ? payload : (JSON.stringify(payload) ?? String(payload));
  } catch {
    text = String(payload);
  }
  return text.length > 300 ? `${text.slice(0, 300)}... (${text.length} chars)` : text;
}

/**
 * An event normaliser: any payload gives changes that keep the contract, an ignored
 * reason, or an InvalidEventError whose message names a field (`fieldHint`).
 */
function eventTarget(provider: 'aws' | 'azure' | 'gcp' | 'vault' | 'local', fieldHint: RegExp): FuzzTarget {
  return {
    name: provider,
    seeds: fixturesOf(provider),
    mutant: (rng, seed) =>
      // Azure also takes the raw JSON text of a delivery: sometimes hand it text, whole or cut.
      provider === 'azure' && rng.chance(0.1)
        ? JSON.stringify(mutate(rng, seed))?.slice(0, rng.chance(0.5) ? undefined : rng.int(200))
        : mutate(rng, seed),
    run(payload) {
      let result;
      try {
        result = normalizeEvent(provider, payload);
      } catch (error) {
        if (!(error instanceof InvalidEventError))
          return {
            kind: 'crash',
            detail: `${(error as Error).constructor.name}: ${(error as Error).message}`,
          };
        if (!fieldHint.test(error.message))
          return { kind: 'crash', detail: `message names no field: ${error.message}` };
        return { kind: 'refused' };
      }
      if ('ignored' in result) {
        return nonEmpty(result.ignored)
          ? { kind: 'ignored' }
          : { kind: 'crash', detail: 'empty ignored reason' };
      }
      if (!Array.isArray(result.changes) || result.changes.length === 0)
        return { kind: 'crash', detail: 'changes is empty' };
      for (const change of result.changes) {
        const problem = changeProblem(change, provider);
        if (problem !== undefined) return { kind: 'wrongly-accepted', detail: problem };
      }
      return { kind: 'accepted' };
    },
  };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** What an accepted registry must never hold; checked independently of the schema. */
function registryProblem(registry: Registry): string | undefined {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let timeoutMs = 0;
  for (const [, n, u] of registry.settings.targetTimeout.matchAll(/(\d+)(ms|s|m|h|d)/g))
    timeoutMs += Number(n) * (unit[u ?? ''] ?? Number.NaN);
  if (!(timeoutMs >= 1000 && timeoutMs <= 900_000)) return `targetTimeout ${registry.settings.targetTimeout}`;
  for (const b of registry.bindings) {
    if (!DNS_LABEL.test(b.target.namespace) || b.target.namespace.length > 63) return 'target.namespace';
    if (!b.target.name.split('.').every((label) => DNS_LABEL.test(label))) return 'target.name';
    for (const expression of Object.values(b.schedule ?? {})) {
      if (
        expression !== undefined &&
        !/^(rate\(\d+ (minute|hour|day)s?\)|cron\(.+\)|[^ ]+( [^ ]+){4})$/.test(expression)
      )
        return `schedule ${expression}`;
    }
    if (b.restart !== undefined && b.restart !== false) {
      for (const kind of b.restart.kinds ?? [])
        if (!['Deployment', 'StatefulSet', 'DaemonSet'].includes(kind)) return 'restart.kinds';
    }
  }
  for (const c of registry.clusters) {
    if (
      c.caData !== undefined &&
      !/CERTIFICATE/.test(c.caData.includes('-----') ? c.caData : Buffer.from(c.caData, 'base64').toString())
    )
      return 'caData';
    for (const ns of c.namespaces ?? []) if (!DNS_LABEL.test(ns)) return 'clusters.namespaces';
  }
  return undefined;
}

/** Each issue of a ConfigError names a path (`bindings[0].target: ...`), or the message names a limit. */
function configErrorProblem(error: ConfigError): string | undefined {
  if (error.issues.length === 0) {
    return /REGISTRY_LIMITS\.\w+|cannot read/.test(error.message)
      ? undefined
      : `no path or limit: ${error.message}`;
  }
  if (error.message.includes('not valid YAML')) return undefined;
  const pathless = error.issues.find(
    (issue) => !/^(\(root\)|[A-Za-z][\w]*(\[\d+\]|\.[\w-]+)*): /.test(issue),
  );
  return pathless === undefined ? undefined : `issue names no path: ${pathless}`;
}

const registrySeeds = [
  aRegistry(),
  readFileSync(join(repoRoot, 'infra', 'aws', 'example-registry.yaml'), 'utf8'),
  readFileSync(join(repoRoot, 'dev', 'demo', 'registry.yaml'), 'utf8'),
];

/** The registry loader: a LoadedRegistry that keeps the rules, or a ConfigError naming paths or a limit. */
export const registryTarget: FuzzTarget = {
  name: 'registry',
  seeds: registrySeeds,
  mutant: (rng, seed) => mutateYaml(rng, seed as string),
  run(payload) {
    let registry: Registry;
    try {
      registry = parseRegistry(payload as string).registry;
    } catch (error) {
      if (!(error instanceof ConfigError))
        return { kind: 'crash', detail: `${(error as Error).constructor.name}: ${(error as Error).message}` };
      const problem = configErrorProblem(error);
      return problem === undefined ? { kind: 'refused' } : { kind: 'crash', detail: problem };
    }
    const problem = registryProblem(registry);
    return problem === undefined ? { kind: 'accepted' } : { kind: 'wrongly-accepted', detail: problem };
  },
};

/** Every target, in the order the runner reports them. */
export const TARGETS: readonly FuzzTarget[] = [
  eventTarget('aws', /\b(id|time|detail(-type)?|source|EventBridge event)\b/),
  eventTarget('azure', /azure event (\[\d+\]|payload)/),
  eventTarget(
    'gcp',
    /\b(message|attributes|messageId|data|eventType|secretId|versionId|timestamp|dataFormat|CloudEvent|payload)\b/,
  ),
  eventTarget('vault', /^vault event: .*\b(data|id|time|path|event_type|CloudEvents)\b/),
  eventTarget('local', /^event(\[\d+\])?(\.\w+)?: /),
  registryTarget,
];
