/**
 * Which Secrets a pod spec references: a pure function over the plain JSON pod spec, so
 * `restart: { auto: true }` restarts exactly the workloads that would see a new value.
 *
 * Covered: `env[].valueFrom.secretKeyRef`, `envFrom[].secretRef` of containers, init
 * containers and ephemeral containers; `volumes[].secret`; `volumes[].projected.sources[].secret`;
 * `imagePullSecrets`. Unknown or malformed shapes are ignored, never thrown on.
 */

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function nameAt(value: unknown, field: string): string | undefined {
  const name = asObject(value)?.[field];
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/** Every Secret name referenced by `podSpec`. */
export function referencedSecrets(podSpec: unknown): Set<string> {
  const names = new Set<string>();
  const add = (name: string | undefined) => {
    if (name !== undefined) names.add(name);
  };
  const spec = asObject(podSpec);
  if (spec === undefined) return names;

  for (const field of ['containers', 'initContainers', 'ephemeralContainers']) {
    for (const container of asArray(spec[field])) {
      const c = asObject(container);
      if (c === undefined) continue;
      for (const env of asArray(c['env'])) {
        add(nameAt(asObject(asObject(env)?.['valueFrom'])?.['secretKeyRef'], 'name'));
      }
      for (const from of asArray(c['envFrom'])) {
        add(nameAt(asObject(from)?.['secretRef'], 'name'));
      }
    }
  }
  for (const volume of asArray(spec['volumes'])) {
    const v = asObject(volume);
    if (v === undefined) continue;
    add(nameAt(v['secret'], 'secretName'));
    for (const source of asArray(asObject(v['projected'])?.['sources'])) {
      add(nameAt(asObject(source)?.['secret'], 'name'));
    }
  }
  for (const pull of asArray(spec['imagePullSecrets'])) add(nameAt(pull, 'name'));
  return names;
}

/** True when `podSpec` references the Secret `name` anywhere `referencedSecrets` looks. */
export function referencesSecret(podSpec: unknown, name: string): boolean {
  return referencedSecrets(podSpec).has(name);
}
