import { DURATION_PATTERN } from '../core/duration.js';
import type { DynamicSpec, PkiSpec } from '../registry/schema.js';

/**
 * Vault paths that issue instead of store: `<mount>/creds/<role>` (dynamic secrets, each read
 * a new credential with a lease) and `<mount>/issue/<role>` (PKI, each write a new certificate).
 * ESO reads the first through a store or a VaultDynamicSecret generator and the second only
 * through the generator; both become `dynamic` / `pki` bindings.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** An issued binding's source settings: exactly one of `dynamic` and `pki`. */
export type Issued = { dynamic: DynamicSpec; pki?: undefined } | { pki: PkiSpec; dynamic?: undefined };

/** `/v1/database/creds/ro` and `database/creds/ro` name the same path. */
export function normaliseVaultPath(path: string): string {
  return path.replace(/^\/+/, '').replace(/^v1\//, '').replace(/\/+$/, '');
}

/** Whether `path` issues (`creds` or `issue` under some mount), and which kind. */
export function issuingKind(path: string): 'dynamic' | 'pki' | undefined {
  const parts = normaliseVaultPath(path).split('/');
  if (parts.length < 3 || parts.some((p) => p === '')) return undefined;
  const verb = parts[parts.length - 2];
  if (verb === 'creds') return 'dynamic';
  if (verb === 'issue') return 'pki';
  return undefined;
}

/** A comma-separated or listed SAN parameter as a list. */
function sanList(value: unknown): string[] {
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
  return items
    .filter((v): v is string => typeof v === 'string')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/**
 * The binding settings of a VaultDynamicSecret generator's spec, or the reason it cannot be
 * converted. `refresh` is the ExternalSecret's refreshInterval, which becomes `renewAfter`.
 */
export function issuedFromGenerator(spec: Obj, refresh: string | undefined): Issued | string {
  const rawPath = str(spec['path']);
  if (rawPath === undefined) return 'the VaultDynamicSecret has no spec.path';
  const path = normaliseVaultPath(rawPath);
  const kind = issuingKind(path);
  const resultType = str(spec['resultType']) ?? 'Data';
  if (resultType !== 'Data') return `VaultDynamicSecret resultType ${resultType} is not supported (Data is)`;
  if (kind === undefined)
    return `VaultDynamicSecret path "${path}" is neither <mount>/creds/<role> nor <mount>/issue/<role>`;
  const parameters = isObj(spec['parameters']) ? spec['parameters'] : {};
  const renewAfter = renewAfterOf(refresh);
  if (kind === 'dynamic') return { dynamic: { path, ...renewAfter } };
  const commonName = str(parameters['common_name']);
  if (commonName === undefined) return `VaultDynamicSecret "${path}": parameters.common_name is missing`;
  const altNames = [...sanList(parameters['alt_names']), ...sanList(parameters['ip_sans'])];
  const ttl = str(parameters['ttl']);
  return {
    pki: {
      path,
      commonName,
      ...(altNames.length > 0 ? { altNames } : {}),
      ...(ttl !== undefined && DURATION_PATTERN.test(ttl) ? { ttl } : {}),
      ...renewAfter,
    },
  };
}

/** ESO re-runs an issuing ExternalSecret every refreshInterval: that is when we re-issue at the latest. */
export function renewAfterOf(refresh: string | undefined): { renewAfter?: string } {
  if (refresh === undefined || refresh === '0' || refresh === '0s') return {};
  return DURATION_PATTERN.test(refresh) ? { renewAfter: refresh } : {};
}

/** Whether a dataFrom entry names a VaultDynamicSecret generator. */
export function isVaultGeneratorRef(entry: Obj): boolean {
  const ref = isObj(entry['sourceRef']) ? entry['sourceRef']['generatorRef'] : undefined;
  return isObj(ref) && ref['kind'] === 'VaultDynamicSecret';
}

/** The generator an ExternalSecret names in dataFrom, if any. */
export function vaultGeneratorName(spec: Obj): string | undefined {
  for (const entry of Array.isArray(spec['dataFrom']) ? spec['dataFrom'] : []) {
    if (isObj(entry) && isVaultGeneratorRef(entry))
      return str((entry['sourceRef'] as { generatorRef: Obj }).generatorRef['name']);
  }
  return undefined;
}

/**
 * The KV mount that the keys of an ExternalSecret on a path-less vault store carry:
 * the first segment of its first key that does not issue (`secret/data/app` → `secret`).
 */
export function kvMountOfKeys(spec: Obj): string | undefined {
  const refs = [
    ...(Array.isArray(spec['data']) ? spec['data'] : []).map((d) => (isObj(d) ? d['remoteRef'] : undefined)),
    ...(Array.isArray(spec['dataFrom']) ? spec['dataFrom'] : []).map((d) =>
      isObj(d) ? d['extract'] : undefined,
    ),
  ];
  for (const ref of refs) {
    const key = isObj(ref) ? str(ref['key']) : undefined;
    if (key === undefined || issuingKind(key) !== undefined) continue;
    const mount = normaliseVaultPath(key).split('/')[0];
    if (mount !== undefined && mount !== '') return mount;
  }
  return undefined;
}

/**
 * The binding settings for issuing keys read through a path-less store (`database/creds/ro`),
 * or why not: one issuing path per binding, not mixed with stored keys, and PKI needs the
 * generator's parameters (a read cannot issue a certificate).
 */
export function issuedFromKeys(
  keys: readonly string[],
  stored: number,
  refresh: string | undefined,
): Issued | string {
  if (keys.length > 1) return `it reads several issuing paths (${keys.join(', ')}); one per binding`;
  const path = keys[0] ?? '';
  if (stored > 0)
    return `it mixes the issuing path ${path} with stored keys; split it into two ExternalSecrets`;
  if (issuingKind(path) === 'pki')
    return `${path} issues certificates on a write with parameters; ESO needs a VaultDynamicSecret generator for it`;
  return { dynamic: { path, ...renewAfterOf(refresh) } };
}
