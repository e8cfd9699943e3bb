import { registrySchema, type Registry, type RegistryInput } from '../../../shared/registry/schema.js';

type BindingInput = NonNullable<RegistryInput['bindings']>[number];
type ClusterInput = NonNullable<RegistryInput['clusters']>[number];
type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

function isPlain(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Deep-merges `tweak` into `base`; arrays and scalars replace, `undefined` removes. */
export function merge<T>(base: T, tweak: unknown): T {
  if (!isPlain(base) || !isPlain(tweak)) return (tweak === undefined ? base : tweak) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(tweak)) {
    if (v === undefined) delete out[k];
    else out[k] = isPlain(v) && isPlain(out[k]) ? merge(out[k], v) : v;
  }
  return out as T;
}

export function aCluster(name: string, tweak: DeepPartial<ClusterInput> = {}): ClusterInput {
  return merge<ClusterInput>(
    {
      name,
      labels: { env: 'prod' },
      server: `https://${name}.invalid`,
      auth: { type: 'token', tokenFrom: { source: 'mem', key: `token-${name}` } },
    },
    tweak,
  );
}

export function aBinding(tweak: DeepPartial<BindingInput> = {}): BindingInput {
  return merge<BindingInput>(
    {
      name: 'payments-db',
      source: 'mem',
      remoteRef: { key: 'prod/database' },
      data: [
        { secretKey: 'username', property: 'username' },
        { secretKey: 'password', property: 'password' },
      ],
      target: { name: 'db-credentials', namespace: 'payments', clusters: { matchLabels: { env: 'prod' } } },
    },
    tweak,
  );
}

export function aRegistry(
  input: { clusters?: ClusterInput[]; bindings?: BindingInput[]; settings?: RegistryInput['settings'] } = {},
): Registry {
  return registrySchema.parse({
    apiVersion: 'secret-propagator/v1',
    settings: input.settings ?? {},
    clusters: input.clusters ?? [aCluster('c1'), aCluster('c2')],
    sources: [{ name: 'mem', provider: 'local', path: 'unused' }],
    bindings: input.bindings ?? [aBinding()],
  });
}
