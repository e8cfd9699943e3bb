import { RenderError } from '../core/errors.js';
import type { BindingSpec } from '../registry/schema.js';
import { readKey, type FetchedValues, type ReadRequest, type RenderedSecret } from './index.js';

// Minimal first cut: data / dataFrom with top-level JSON properties and no template
// engine. The ESO-compatible template engine and decoding strategies replace this.

const decoder = new TextDecoder('utf-8', { fatal: false });
const encoder = new TextEncoder();

function fetched(values: FetchedValues, request: ReadRequest, binding: BindingSpec) {
  const value = values.get(readKey(request));
  if (value === undefined) throw new RenderError(`binding "${binding.name}": value of "${request.key}" was not read`);
  return value;
}

function parseJsonObject(bytes: Uint8Array, binding: BindingSpec, key: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(decoder.decode(bytes));
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through: the message below never includes the value
  }
  throw new RenderError(`binding "${binding.name}": secret "${key}" is not a JSON object, so properties cannot be read from it`);
}

function toBytes(value: unknown): Uint8Array {
  return encoder.encode(typeof value === 'string' ? value : JSON.stringify(value));
}

export function renderSecret(binding: BindingSpec, values: FetchedValues): RenderedSecret {
  const data: Record<string, Uint8Array> = {};
  for (const entry of binding.dataFrom ?? []) {
    const request = { key: entry.extract.key ?? binding.remoteRef?.key ?? '', ...(entry.extract.version ? { version: entry.extract.version } : {}) };
    const object = parseJsonObject(fetched(values, request, binding).bytes, binding, request.key);
    for (const [k, v] of Object.entries(object)) data[k] = toBytes(v);
  }
  for (const entry of binding.data ?? []) {
    const request = { key: entry.remoteRef?.key ?? binding.remoteRef?.key ?? '', ...(entry.remoteRef?.version ? { version: entry.remoteRef.version } : {}) };
    const value = fetched(values, request, binding);
    const property = entry.property ?? entry.remoteRef?.property;
    if (property === undefined) {
      data[entry.secretKey] = value.bytes;
      continue;
    }
    const object = parseJsonObject(value.bytes, binding, request.key);
    if (!(property in object)) {
      throw new RenderError(`binding "${binding.name}": property "${property}" not found in secret "${request.key}"`);
    }
    data[entry.secretKey] = toBytes(object[property]);
  }
  if ((binding.data?.length ?? 0) === 0 && (binding.dataFrom?.length ?? 0) === 0 && binding.remoteRef !== undefined) {
    const value = fetched(values, { key: binding.remoteRef.key }, binding);
    const property = binding.remoteRef.property;
    if (property === undefined) {
      // A bare remoteRef without data/dataFrom: extract a JSON object, or the raw value under "value".
      try {
        const object = parseJsonObject(value.bytes, binding, binding.remoteRef.key);
        for (const [k, v] of Object.entries(object)) data[k] = toBytes(v);
      } catch {
        data['value'] = value.bytes;
      }
    } else {
      const object = parseJsonObject(value.bytes, binding, binding.remoteRef.key);
      data[property] = toBytes(object[property]);
    }
  }
  return {
    type: binding.target.template?.type ?? 'Opaque',
    data,
    labels: { ...(binding.target.template?.metadata?.labels ?? {}) },
    annotations: { ...(binding.target.template?.metadata?.annotations ?? {}) },
  };
}
