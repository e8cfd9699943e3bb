import { parseAllDocuments } from 'yaml';
import { isSupportedFunction } from '../template/go/functions.js';
import { functionNames, parseTemplate, TemplateSyntaxError } from '../template/go/parse.js';
import { registrySchema, type ClusterSelector, type RegistryInput } from '../registry/schema.js';
import {
  issuedFromGenerator,
  issuedFromKeys,
  issuingKind,
  isVaultGeneratorRef,
  kvMountOfKeys,
  normaliseVaultPath,
  vaultGeneratorName,
  type Issued,
} from './vault-issue.js';

/**
 * Converts External Secrets Operator manifests (ExternalSecret, ClusterExternalSecret,
 * SecretStore, ClusterSecretStore; external-secrets.io v1beta1 and v1) into registry
 * sources and bindings. Pure: no file or network access. What cannot be carried over
 * exactly is reported instead of guessed: the resource is skipped (`skipped`) or
 * converted with a caveat (`note`).
 */

export interface Manifest {
  file: string;
  doc: unknown;
}

export interface ConversionProblem {
  severity: 'skipped' | 'note';
  /** `ExternalSecret payments/db-creds`. */
  resource: string;
  file: string;
  message: string;
}

export interface ConvertOptions {
  /** Which clusters every binding targets. @default { matchLabels: {} } (every registered cluster) */
  clusters?: ClusterSelector;
}

type SourceInput = NonNullable<RegistryInput['sources']>[number];
type BindingInput = NonNullable<RegistryInput['bindings']>[number];

export interface ConversionResult {
  registry: { apiVersion: 'secret-propagator/v1'; sources: SourceInput[]; bindings: BindingInput[] };
  problems: ConversionProblem[];
}

const API_GROUPS = new Set(['external-secrets.io/v1beta1', 'external-secrets.io/v1']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Lowercase DNS name from any Kubernetes name. */
export function toRegistryName(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return cleaned === '' ? 'unnamed' : cleaned.slice(0, 253);
}

/** Splits multi-document YAML (and `kind: List`) into manifests. */
export function parseManifests(text: string, file: string): Manifest[] {
  const out: Manifest[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0)
      throw new Error(
        `${file}: not valid YAML (${document.errors[0]?.message.split('\n')[0] ?? 'parse error'})`,
      );
    const doc: unknown = document.toJS();
    if (doc === null || doc === undefined) continue;
    if (isObj(doc) && doc['kind'] === 'List')
      for (const item of list(doc['items'])) out.push({ file, doc: item });
    else out.push({ file, doc });
  }
  return out;
}

interface StoreEntry {
  /** A VaultDynamicSecret generator's provider is kept as a store of its own. */
  kind: 'SecretStore' | 'ClusterSecretStore' | 'VaultDynamicSecret';
  namespace: string | undefined;
  name: string;
  file: string;
  spec: Obj;
  /** The VaultDynamicSecret's own spec (path, method, parameters). */
  generator?: Obj;
}

/** What a VaultDynamicSecret generator named by an ExternalSecret issues, and through which source. */
type IssuedResolver = (
  spec: Obj,
  namespace: string,
  note: (message: string) => void,
  skip: (message: string) => void,
) => { source: string | undefined; issued: Issued | undefined } | undefined;

/**
 * The id of the namespaced store (or generator) an ExternalSecret in `namespace` names.
 * ESO looks only in the ExternalSecret's own namespace, but manifests gathered from a
 * repository often define it once in another: that single one is used, with a note;
 * several are refused, listed. Not found anywhere: the plain id (the caller says so).
 */
function resolveNamespaced(
  entries: ReadonlyMap<string, { kind: string; namespace: string | undefined; name: string }>,
  kind: string,
  namespace: string,
  name: string,
  note: (message: string) => void,
  skip: (message: string) => void,
): string | undefined {
  const id = storeId(kind, namespace, name);
  if (kind === 'ClusterSecretStore' || entries.has(id)) return id;
  const elsewhere = [...entries.values()]
    .filter((e) => e.kind === kind && e.name === name)
    .map((e) => e.namespace ?? 'default');
  if (elsewhere.length === 0) return id;
  if (elsewhere.length > 1) {
    skip(
      `its ${kind} "${name}" is not in namespace ${namespace} but in several others (${elsewhere.join(', ')}); keep only the one meant among the inputs, or use a ClusterSecretStore`,
    );
    return undefined;
  }
  const [other] = elsewhere as [string];
  note(
    `its ${kind} "${name}" is defined in namespace ${other}, not ${namespace}: converted with that one, although External Secrets Operator itself would not resolve it across namespaces`,
  );
  return storeId(kind, other, name);
}

const storeId = (kind: string, namespace: string | undefined, name: string) =>
  `${kind}/${kind === 'ClusterSecretStore' ? '' : (namespace ?? 'default')}/${name}`;

export function convertEso(manifests: readonly Manifest[], options: ConvertOptions = {}): ConversionResult {
  const problems: ConversionProblem[] = [];
  const clusters: ClusterSelector = options.clusters ?? { matchLabels: {} };
  const stores = new Map<string, StoreEntry>();
  const externalSecrets: { kind: string; meta: Obj; spec: Obj; file: string }[] = [];

  for (const { file, doc } of manifests) {
    if (!isObj(doc)) continue;
    const kind = str(doc['kind']);
    const apiVersion = str(doc['apiVersion']) ?? '';
    const meta = obj(doc['metadata']);
    const name = str(meta['name']) ?? 'unnamed';
    const namespace = str(meta['namespace']);
    if (kind === 'VaultDynamicSecret' && apiVersion.startsWith('generators.external-secrets.io/')) {
      // Its provider block is a vault store's: kept as a store of its own, named after the generator.
      const spec = obj(doc['spec']);
      stores.set(storeId(kind, namespace, name), {
        kind,
        namespace: namespace ?? 'default',
        name,
        file,
        spec: { provider: { vault: obj(spec['provider']) } },
        generator: spec,
      });
      continue;
    }
    if (kind === undefined || !apiVersion.startsWith('external-secrets.io/')) continue;
    const resource = `${kind} ${namespace === undefined ? '' : `${namespace}/`}${name}`;
    if (!API_GROUPS.has(apiVersion)) {
      problems.push({
        severity: 'skipped',
        resource,
        file,
        message: `apiVersion ${apiVersion} is not supported (use external-secrets.io/v1beta1 or v1)`,
      });
      continue;
    }
    if (kind === 'SecretStore' || kind === 'ClusterSecretStore') {
      const id = storeId(kind, namespace, name);
      const known = stores.get(id);
      if (known === undefined) stores.set(id, { kind, namespace, name, file, spec: obj(doc['spec']) });
      else if (JSON.stringify(known.spec) !== JSON.stringify(obj(doc['spec']))) {
        problems.push({
          severity: 'note',
          resource,
          file,
          message: `defined more than once with different specs; the first definition (${known.file}) is used`,
        });
      }
    } else if (kind === 'ExternalSecret' || kind === 'ClusterExternalSecret') {
      externalSecrets.push({ kind, meta, spec: obj(doc['spec']), file });
    } else {
      problems.push({
        severity: 'skipped',
        resource,
        file,
        message: `${kind} is not converted (generators and PushSecrets have no equivalent)`,
      });
    }
  }

  const sources = new Map<string, SourceInput>();
  const sourceNames = new Map<string, string>();
  const failedStores = new Set<string>();
  // `mount`: the KV mount taken from the keys, for a vault store without spec.provider.vault.path.
  const sourceFor = (id: string, mount?: string): string | undefined => {
    const store = stores.get(id);
    if (store === undefined) return undefined;
    const mountless = store.spec['provider'] !== undefined && vaultPathless(store.spec);
    const cacheKey = mountless && mount !== undefined ? `${id}#${mount}` : id;
    const known = sourceNames.get(cacheKey);
    if (known !== undefined || failedStores.has(cacheKey)) return known;
    let name = toRegistryName(store.name);
    if ([...sourceNames.values()].includes(name))
      name = toRegistryName(`${store.name}-${store.namespace ?? 'cluster'}`);
    if ([...sourceNames.values()].includes(name) && mount !== undefined)
      name = toRegistryName(`${store.name}-${mount}`);
    const resource = `${store.kind} ${store.namespace === undefined || store.kind === 'ClusterSecretStore' ? '' : `${store.namespace}/`}${store.name}`;
    const converted = convertStore(
      name,
      store,
      (severity, message) => problems.push({ severity, resource, file: store.file, message }),
      mountless ? mount : undefined,
    );
    if (converted === undefined) {
      failedStores.add(cacheKey);
      return undefined;
    }
    sources.set(name, converted);
    sourceNames.set(cacheKey, name);
    return name;
  };

  const issuedFor: IssuedResolver = (spec, namespace, note, skip) => {
    const name = vaultGeneratorName(spec);
    if (name === undefined) return undefined;
    const failed = { source: undefined, issued: undefined };
    const id = resolveNamespaced(stores, 'VaultDynamicSecret', namespace, name, note, skip);
    const entry = id === undefined ? undefined : stores.get(id);
    if (id === undefined) return failed;
    if (entry?.generator === undefined) {
      skip(`its VaultDynamicSecret "${name}" is not among the inputs; pass the generator manifest too`);
      return failed;
    }
    const issued = issuedFromGenerator(entry.generator, refreshOf(spec));
    if (typeof issued === 'string') {
      skip(issued);
      return failed;
    }
    const source = sourceFor(id);
    if (source === undefined) skip(`the provider of its VaultDynamicSecret "${name}" could not be converted`);
    return { source, issued };
  };

  const bindings: BindingInput[] = [];
  const usedNames = new Set<string>();
  for (const es of externalSecrets) {
    const esName = str(es.meta['name']) ?? 'unnamed';
    if (es.kind === 'ExternalSecret') {
      const namespace = str(es.meta['namespace']) ?? 'default';
      const resource = `ExternalSecret ${namespace}/${esName}`;
      const binding = convertExternalSecret(
        es.spec,
        esName,
        namespace,
        es.file,
        resource,
        clusters,
        sourceFor,
        stores,
        problems,
        usedNames,
        issuedFor,
      );
      if (binding !== undefined) bindings.push(binding);
      continue;
    }
    // ClusterExternalSecret: one binding per listed namespace; selectors cannot be resolved offline.
    const resource = `ClusterExternalSecret ${esName}`;
    const namespaces = list(es.spec['namespaces']).filter((n): n is string => typeof n === 'string');
    if (namespaces.length === 0) {
      problems.push({
        severity: 'skipped',
        resource,
        file: es.file,
        message:
          'namespaceSelector(s) cannot be resolved without a cluster; list the namespaces in spec.namespaces',
      });
      continue;
    }
    if (es.spec['namespaceSelector'] !== undefined || es.spec['namespaceSelectors'] !== undefined) {
      problems.push({
        severity: 'note',
        resource,
        file: es.file,
        message: 'namespaceSelector(s) ignored; only spec.namespaces were converted',
      });
    }
    const targetName = str(es.spec['externalSecretName']) ?? esName;
    for (const namespace of namespaces) {
      const name = namespaces.length === 1 ? esName : `${esName}-${namespace}`;
      const binding = convertExternalSecret(
        obj(es.spec['externalSecretSpec']),
        name,
        namespace,
        es.file,
        `${resource} (namespace ${namespace})`,
        clusters,
        sourceFor,
        stores,
        problems,
        usedNames,
        issuedFor,
        targetName,
      );
      if (binding !== undefined) bindings.push(binding);
    }
  }

  // Only the sources some converted binding uses.
  const used = new Set(bindings.map((b) => b.source));
  const registry = {
    apiVersion: 'secret-propagator/v1' as const,
    sources: [...sources.values()].filter((s) => used.has(s.name)),
    bindings,
  };
  const check = registrySchema.safeParse(registry);
  if (!check.success) {
    // A converter bug, not a user error: say where, without values.
    throw new Error(
      `import-eso produced an invalid registry: ${check.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return { registry, problems };
}

/** A vault provider without `path`: its keys carry their KV mount. */
function vaultPathless(spec: Obj): boolean {
  const vault = obj(obj(spec['provider'])['vault']);
  return Object.keys(vault).length > 0 && str(vault['path']) === undefined;
}

function convertStore(
  name: string,
  store: StoreEntry,
  report: (severity: 'skipped' | 'note', message: string) => void,
  mountFromKeys?: string,
): SourceInput | undefined {
  const provider = obj(store.spec['provider']);
  const [type, ...others] = Object.keys(provider);
  if (type === undefined || others.length > 0) {
    report('skipped', 'the store names no provider, or several');
    return undefined;
  }
  const p = obj(provider[type]);
  if (p['auth'] !== undefined && type !== 'vault') {
    report(
      'note',
      `spec.provider.${type}.auth is not carried over: the function authenticates with its own cloud identity`,
    );
  }
  switch (type) {
    case 'aws': {
      if ((str(p['service']) ?? 'SecretsManager') !== 'SecretsManager') {
        report('skipped', `aws service ${String(p['service'])} is not supported (only SecretsManager)`);
        return undefined;
      }
      const region = str(p['region']);
      if (region === undefined) {
        report('skipped', 'aws store has no region');
        return undefined;
      }
      const role = str(p['role']);
      return { name, provider: 'aws', region, ...(role === undefined ? {} : { roleArn: role }) };
    }
    case 'azurekv': {
      const vaultUrl = str(p['vaultUrl']);
      if (vaultUrl === undefined) {
        report('skipped', 'azurekv store has no vaultUrl');
        return undefined;
      }
      return { name, provider: 'azure', vaultUrl };
    }
    case 'gcpsm': {
      const project = str(p['projectID']);
      if (project === undefined) {
        report('skipped', 'gcpsm store has no projectID');
        return undefined;
      }
      return { name, provider: 'gcp', project };
    }
    case 'vault':
      return convertVaultStore(name, p, report, mountFromKeys);
    default:
      report(
        'skipped',
        `provider "${type}" is not supported (aws SecretsManager, azurekv, gcpsm and vault are)`,
      );
      return undefined;
  }
}

function convertVaultStore(
  name: string,
  p: Obj,
  report: (severity: 'skipped' | 'note', message: string) => void,
  mountFromKeys?: string,
): SourceInput | undefined {
  const address = str(p['server']);
  // Without a path, ESO's keys carry their mount (`secret/data/app`); issuing paths need none.
  const mount = str(p['path']) ?? mountFromKeys;
  if (address === undefined) {
    report('skipped', 'vault store has no server');
    return undefined;
  }
  if ((str(p['version']) ?? 'v2') !== 'v2') {
    report('skipped', 'vault KV v1 is not supported (KV v2 only)');
    return undefined;
  }
  const auth = obj(p['auth']);
  let converted: Extract<SourceInput, { provider: 'vault' }>['auth'];
  if (auth['tokenSecretRef'] !== undefined) {
    converted = { type: 'token' };
    report(
      'note',
      'vault token auth: the token is read from the environment variable VAULT_TOKEN, not from the Kubernetes Secret',
    );
  } else if (isObj(auth['kubernetes'])) {
    const k = auth['kubernetes'];
    const role = str(k['role']);
    if (role === undefined) {
      report('skipped', 'vault kubernetes auth has no role');
      return undefined;
    }
    converted = { type: 'kubernetes', role, mountPath: str(k['mountPath']) ?? 'kubernetes' };
  } else if (isObj(auth['appRole'])) {
    const a = auth['appRole'];
    const roleId = str(a['roleId']);
    if (roleId === undefined) {
      report('skipped', 'vault appRole auth without a literal roleId (roleRef) is not supported');
      return undefined;
    }
    converted = { type: 'approle', roleId, mountPath: str(a['path']) ?? 'approle' };
    report('note', 'vault appRole auth: the secret id is read from the environment variable VAULT_SECRET_ID');
  } else {
    report(
      'skipped',
      `vault auth ${Object.keys(auth).join(', ') || '(none)'} is not supported (token, kubernetes and appRole are)`,
    );
    return undefined;
  }
  if (p['caProvider'] !== undefined)
    report(
      'note',
      'vault caProvider is not carried over; give the CA as caData (TLS is verified against the system roots until then)',
    );
  const namespace = str(p['namespace']);
  const caBundle = str(p['caBundle']);
  return {
    name,
    provider: 'vault',
    address,
    ...(mount === undefined ? {} : { mount }),
    ...(namespace === undefined ? {} : { namespace }),
    ...(caBundle === undefined ? {} : { caData: caBundle }),
    auth: converted,
  };
}

type RemoteRefInput = {
  key?: string;
  property?: string;
  version?: string;
  decodingStrategy?: 'None' | 'Base64' | 'Base64URL' | 'Auto';
};

function convertRemoteRef(
  ref: Obj,
  provider: string | undefined,
  skip: (message: string) => void,
  vaultMount?: string,
): RemoteRefInput | undefined {
  let key = str(ref['key']);
  if (provider === 'vault' && vaultMount !== undefined && key?.startsWith(`${vaultMount}/`) === true) {
    // ESO strips a leading mount (and KV v2 "data/") from Vault keys.
    key = key.slice(vaultMount.length + 1).replace(/^data\//, '');
  }
  if (provider === 'azure' && key !== undefined) {
    if (/^(cert|key)\//.test(key)) {
      skip(`azure key "${key}" reads a certificate or key object, which is not supported (secrets only)`);
      return undefined;
    }
    key = key.replace(/^secret\//, '');
  }
  const out: RemoteRefInput = {};
  if (key !== undefined) out.key = key;
  const property = str(ref['property']);
  if (property !== undefined) out.property = property;
  const version = str(ref['version']);
  if (version !== undefined) out.version = version;
  const decoding = str(ref['decodingStrategy']);
  if (decoding !== undefined && decoding !== 'None') {
    if (decoding !== 'Base64' && decoding !== 'Base64URL' && decoding !== 'Auto') {
      skip(`decodingStrategy ${decoding} is not supported`);
      return undefined;
    }
    out.decodingStrategy = decoding;
  }
  const conversion = str(ref['conversionStrategy']);
  if (conversion !== undefined && conversion !== 'Default') {
    skip(`conversionStrategy ${conversion} is not supported`);
    return undefined;
  }
  if ((str(ref['metadataPolicy']) ?? 'None') !== 'None') {
    skip('metadataPolicy Fetch (reading store tags/metadata) is not supported');
    return undefined;
  }
  return out;
}

/** An ExternalSecret's refreshInterval as written. */
function refreshOf(spec: Obj): string | undefined {
  const raw = spec['refreshInterval'];
  return typeof raw === 'string' || typeof raw === 'number' ? String(raw) : undefined;
}

function convertExternalSecret(
  spec: Obj,
  esName: string,
  namespace: string,
  file: string,
  resource: string,
  clusters: ClusterSelector,
  sourceFor: (id: string, mount?: string) => string | undefined,
  stores: ReadonlyMap<string, StoreEntry>,
  problems: ConversionProblem[],
  usedNames: Set<string>,
  issuedFor: IssuedResolver,
  targetOverride?: string,
): BindingInput | undefined {
  const reasons: string[] = [];
  const skip = (message: string) => reasons.push(message);
  const note = (message: string) => problems.push({ severity: 'note', resource, file, message });

  // Store: one per ExternalSecret (per-entry sourceRef stores are not supported).
  const storeRef = obj(spec['secretStoreRef']);
  const storeKind = str(storeRef['kind']) ?? 'SecretStore';
  const storeName = str(storeRef['name']);
  let source: string | undefined;
  let provider: string | undefined;
  let vaultMount: string | undefined;
  let issued: Issued | undefined;
  // A vault store without a path reads any Vault path, so `<mount>/creds/<role>` keys issue.
  let issuingByKey = false;
  const generated = issuedFor(spec, namespace, note, skip);
  if (generated !== undefined) {
    source = generated.source;
    issued = generated.issued;
  } else if (storeName === undefined) {
    skip('spec.secretStoreRef.name is missing');
  } else {
    const id = resolveNamespaced(stores, storeKind, namespace, storeName, note, skip);
    const pathless = id !== undefined && vaultPathless(obj(stores.get(id)?.spec));
    const mountFromKeys = pathless ? kvMountOfKeys(spec) : undefined;
    source = id === undefined ? undefined : sourceFor(id, mountFromKeys);
    vaultMount = mountFromKeys;
    issuingByKey = pathless;
    if (id === undefined) {
      // resolveStore has said why.
    } else if (source === undefined) {
      skip(
        stores.has(id)
          ? `its ${storeKind} "${storeName}" could not be converted`
          : `its ${storeKind} "${storeName}" is not among the inputs; pass the store manifest too`,
      );
    } else {
      provider = Object.keys(obj(obj(stores.get(id)?.spec)['provider']))[0];
      provider = provider === 'azurekv' ? 'azure' : provider;
      vaultMount = str(obj(obj(obj(stores.get(id)?.spec)['provider'])['vault'])['path']) ?? vaultMount;
    }
  }

  const data: NonNullable<BindingInput['data']> = [];
  const issuedKeys = new Set<string>();
  const issuedData: NonNullable<BindingInput['data']> = [];
  for (const raw of list(spec['data'])) {
    const entry = obj(raw);
    const secretKey = str(entry['secretKey']);
    if (
      obj(entry['sourceRef'])['generatorRef'] !== undefined ||
      obj(entry['sourceRef'])['storeRef'] !== undefined
    ) {
      skip(`data "${secretKey ?? '?'}": sourceRef (generators or another store) is not supported`);
      continue;
    }
    if (secretKey === undefined) {
      skip('a data entry has no secretKey');
      continue;
    }
    const rawKey = str(obj(entry['remoteRef'])['key']);
    if (issuingByKey && rawKey !== undefined && issuingKind(rawKey) !== undefined) {
      issuedKeys.add(normaliseVaultPath(rawKey));
      const property = str(obj(entry['remoteRef'])['property']);
      issuedData.push({ secretKey, ...(property === undefined ? {} : { property }) });
      continue;
    }
    const ref = convertRemoteRef(obj(entry['remoteRef']), provider, skip, vaultMount);
    if (ref === undefined) continue;
    if (ref.key === undefined) {
      skip(`data "${secretKey}": remoteRef.key is missing`);
      continue;
    }
    data.push({ secretKey, remoteRef: ref });
  }

  const dataFrom: NonNullable<BindingInput['dataFrom']> = [];
  for (const raw of list(spec['dataFrom'])) {
    const entry = obj(raw);
    if (entry['find'] !== undefined) skip('dataFrom.find (search by name or tags) is not supported');
    if (entry['sourceRef'] !== undefined && !isVaultGeneratorRef(entry))
      skip(
        'dataFrom.sourceRef (generators other than VaultDynamicSecret, or another store) is not supported',
      );
    if (entry['rewrite'] !== undefined) skip('dataFrom.rewrite is not supported');
    if (entry['extract'] === undefined) continue;
    const rawKey = str(obj(entry['extract'])['key']);
    if (issuingByKey && rawKey !== undefined && issuingKind(rawKey) !== undefined) {
      issuedKeys.add(normaliseVaultPath(rawKey));
      continue;
    }
    const ref = convertRemoteRef(obj(entry['extract']), provider, skip, vaultMount);
    if (ref === undefined) continue;
    if (ref.key === undefined) {
      skip('dataFrom.extract.key is missing');
      continue;
    }
    dataFrom.push({ extract: ref });
  }
  const refresh = refreshOf(spec);
  if (issuedKeys.size > 0) {
    const fromKeys = issuedFromKeys([...issuedKeys], data.length + dataFrom.length, refresh);
    if (typeof fromKeys === 'string') skip(fromKeys);
    else issued = fromKeys;
  } else if (issued !== undefined && data.length + dataFrom.length > 0) {
    skip('it mixes a VaultDynamicSecret generator with stored keys; split it into two ExternalSecrets');
  }
  if (issued === undefined && data.length === 0 && dataFrom.length === 0 && reasons.length === 0)
    skip('it has neither data nor dataFrom.extract');

  const target = obj(spec['target']);
  const creationPolicy = str(target['creationPolicy']) ?? 'Owner';
  if (creationPolicy === 'None') skip('target.creationPolicy None (update without owning) is not supported');
  const deletionPolicy = str(target['deletionPolicy']) ?? 'Retain';
  if (deletionPolicy === 'Merge')
    note(
      'target.deletionPolicy Merge is converted to Retain (keys are not removed when the store secret is deleted)',
    );
  if (target['immutable'] === true) note('target.immutable is not carried over');

  let template: BindingInput['target']['template'];
  if (target['template'] !== undefined) {
    const t = obj(target['template']);
    if ((str(t['engineVersion']) ?? 'v2') !== 'v2')
      skip('template engineVersion v1 is not supported; migrate the template to v2');
    if (list(t['templateFrom']).length > 0)
      skip('template.templateFrom (templates in ConfigMaps or Secrets) is not supported');
    const metadata = obj(t['metadata']);
    const strings = (v: unknown): Record<string, string> | undefined => {
      if (!isObj(v)) return undefined;
      return Object.fromEntries(
        Object.entries(v).map(([k, value]) => [k, typeof value === 'string' ? value : JSON.stringify(value)]),
      );
    };
    const tData = strings(t['data']);
    const labels = strings(metadata['labels']);
    const annotations = strings(metadata['annotations']);
    for (const [where, entries] of [
      ['data', tData],
      ['label', labels],
      ['annotation', annotations],
    ] as const) {
      for (const [k, source] of Object.entries(entries ?? {})) {
        try {
          const unsupported = [...functionNames(parseTemplate(source))].filter(
            (f) => !isSupportedFunction(f),
          );
          if (unsupported.length > 0)
            skip(`template ${where} "${k}" uses unsupported function(s) ${unsupported.join(', ')}`);
        } catch (error) {
          if (!(error instanceof TemplateSyntaxError)) throw error;
          skip(`template ${where} "${k}" does not parse: ${error.message}`);
        }
      }
    }
    const mergePolicy = str(t['mergePolicy']);
    const type = str(t['type']);
    template = {
      ...(type === undefined ? {} : { type }),
      engineVersion: 'v2',
      ...(labels !== undefined || annotations !== undefined
        ? { metadata: { ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) } }
        : {}),
      ...(tData === undefined ? {} : { data: tData }),
      ...(mergePolicy === 'Merge' || mergePolicy === 'Replace' ? { mergePolicy } : {}),
    };
  }

  if (issued !== undefined && refresh !== undefined) {
    const renewAfter = (issued.dynamic ?? issued.pki).renewAfter;
    note(
      renewAfter === undefined
        ? `refreshInterval ${refresh}: re-issued by the lease or validity only`
        : `refreshInterval ${refresh} is the renewal: re-issued at the latest ${renewAfter} after each issue`,
    );
  } else if (refresh !== undefined && refresh !== '0' && refresh !== '0s') {
    note(
      `refreshInterval ${refresh} is not carried over: changes propagate on store events; add schedule.reconcile to repair drift periodically`,
    );
  } else if (refresh !== undefined) {
    note('refreshInterval 0 (fetch once) is not carried over: the binding follows every new version');
  }

  if (reasons.length > 0 || source === undefined) {
    for (const message of reasons) problems.push({ severity: 'skipped', resource, file, message });
    return undefined;
  }

  let name = toRegistryName(esName);
  if (usedNames.has(name)) {
    const renamed = toRegistryName(`${esName}-${namespace}`);
    note(`binding name "${name}" is taken; named "${renamed}"`);
    name = renamed;
  }
  usedNames.add(name);
  return {
    name,
    source,
    ...(data.length > 0 ? { data } : {}),
    ...(dataFrom.length > 0 ? { dataFrom } : {}),
    ...(issuedData.length > 0 ? { data: issuedData } : {}),
    ...(issued?.dynamic === undefined ? {} : { dynamic: issued.dynamic }),
    ...(issued?.pki === undefined ? {} : { pki: issued.pki }),
    target: {
      name: toRegistryName(str(target['name']) ?? targetOverride ?? esName),
      namespace,
      clusters,
      creationPolicy: creationPolicy === 'Merge' || creationPolicy === 'Orphan' ? creationPolicy : 'Owner',
      deletionPolicy: deletionPolicy === 'Delete' ? 'Delete' : 'Retain',
      ...(template === undefined ? {} : { template }),
    },
  };
}
