import type { SecretValue } from '../core/ports.js';
import type { BindingSpec } from '../registry/schema.js';
import { checkTemplates, decodeValue, fetchData, renderSecret } from './render.js';
import { parseDuration } from '../core/duration.js';
import {
  certificatesExpiringWithin,
  requiredKeysByType,
  validateSecret,
  type ExpiringCertificate,
} from './validate.js';

export { checkTemplates, decodeValue, fetchData, renderSecret };
export {
  certificatesExpiringWithin,
  parseDuration,
  requiredKeysByType,
  validateSecret,
  type ExpiringCertificate,
};
export { isSupportedFunction } from './go/functions.js';
export { functionNames, parseTemplate } from './go/parse.js';

/** One store read a binding needs. `version` undefined means "the current version". */
export interface ReadRequest {
  key: string;
  version?: string;
}

/** Store values fetched for one binding, keyed by `readKey(request)`. */
export type FetchedValues = ReadonlyMap<string, SecretValue>;

/** The Secret content a binding renders to, before it is written anywhere. */
export interface RenderedSecret {
  type: string;
  data: Record<string, Uint8Array>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export function readKey(request: ReadRequest): string {
  return request.version === undefined ? request.key : `${request.key}@${request.version}`;
}

/** Every distinct store read a binding needs, so the engine can read each once. */
export function requiredReads(binding: BindingSpec): ReadRequest[] {
  const requests = new Map<string, ReadRequest>();
  const add = (key: string | undefined, version: string | undefined) => {
    const k = key ?? binding.remoteRef?.key;
    if (k === undefined) return;
    const v = version ?? (key === undefined ? binding.remoteRef?.version : undefined);
    const request: ReadRequest = v === undefined ? { key: k } : { key: k, version: v };
    requests.set(readKey(request), request);
  };
  for (const entry of binding.data ?? []) add(entry.remoteRef?.key, entry.remoteRef?.version);
  for (const entry of binding.dataFrom ?? []) add(entry.extract.key, entry.extract.version);
  if ((binding.data?.length ?? 0) === 0 && (binding.dataFrom?.length ?? 0) === 0) add(undefined, undefined);
  return [...requests.values()];
}
