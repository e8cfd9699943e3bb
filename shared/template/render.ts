import { RenderError } from '../core/errors.js';
import type { BindingSpec } from '../registry/schema.js';
import { executeTemplate, TemplateExecError } from './go/exec.js';
import { decodeStdBase64, isSupportedFunction } from './go/functions.js';
import { functionNames, parseTemplate, TemplateSyntaxError, type Node } from './go/parse.js';
import { stringMap } from './go/values.js';
import { readKey, type FetchedValues, type ReadRequest, type RenderedSecret } from './index.js';
import { lookupProperty, rawObjectEntries, rawToString } from './json-path.js';

/**
 * Renders a binding's Secret content from fetched store values, the way ESO does:
 * `dataFrom` first (each JSON property becomes a key), then `data` entries (which
 * win), each decoded per `decodingStrategy`; then `target.template` (engine v2) with
 * the fetched data as `map[string]string`. Error messages name the binding, the key
 * and the failing function or property, never a value.
 */

type DecodingStrategy = 'None' | 'Base64' | 'Base64URL' | 'Auto';

const utf8 = new TextDecoder('utf-8', { fatal: false });
const encoder = new TextEncoder();

function fail(binding: BindingSpec, reason: string): never {
  throw new RenderError(`binding "${binding.name}": ${reason}`);
}

function fetched(values: FetchedValues, request: ReadRequest, binding: BindingSpec) {
  const value = values.get(readKey(request));
  if (value === undefined) fail(binding, `value of "${request.key}" was not read`);
  return value;
}

function request(key: string, version: string | undefined): ReadRequest {
  return version === undefined ? { key } : { key, version };
}

const base64Url = /^[A-Za-z0-9_-]*={0,2}$/;

/** ESO's decoding strategies; Auto tries Base64, then Base64URL, then keeps the bytes. */
export function decodeValue(
  bytes: Uint8Array,
  strategy: DecodingStrategy | undefined,
): Uint8Array | undefined {
  switch (strategy ?? 'None') {
    case 'None':
      return bytes;
    case 'Base64':
      return decodeStdBase64(utf8.decode(bytes));
    case 'Base64URL': {
      const text = utf8.decode(bytes).replace(/[\r\n]/g, '');
      if (text.length % 4 !== 0 || !base64Url.test(text)) return undefined;
      return Buffer.from(text, 'base64url');
    }
    case 'Auto':
      return decodeValue(bytes, 'Base64') ?? decodeValue(bytes, 'Base64URL') ?? bytes;
  }
  return undefined;
}

function decodeOrFail(
  binding: BindingSpec,
  secretKey: string,
  bytes: Uint8Array,
  strategy: DecodingStrategy | undefined,
): Uint8Array {
  const decoded = decodeValue(bytes, strategy);
  if (decoded === undefined)
    fail(binding, `key "${secretKey}": value is not valid ${strategy ?? 'None'} (decodingStrategy)`);
  return decoded;
}

function property(binding: BindingSpec, bytes: Uint8Array, path: string, remoteKey: string): Uint8Array {
  const raw = lookupProperty(utf8.decode(bytes), path);
  if (raw === undefined) fail(binding, `property "${path}" not found in secret "${remoteKey}"`);
  return encoder.encode(rawToString(raw));
}

function extract(binding: BindingSpec, bytes: Uint8Array, remoteKey: string): [string, Uint8Array][] {
  const entries = rawObjectEntries(utf8.decode(bytes));
  if (entries === undefined)
    fail(binding, `secret "${remoteKey}" is not a JSON object, so its properties cannot be extracted`);
  return entries.map(([k, raw]) => [k, encoder.encode(rawToString(raw))]);
}

/** The fetched data before templating: ESO's provider data map. */
export function fetchData(binding: BindingSpec, values: FetchedValues): Map<string, Uint8Array> {
  const data = new Map<string, Uint8Array>();
  const base = binding.remoteRef;
  for (const entry of binding.dataFrom ?? []) {
    const ref = entry.extract;
    const inherited = ref.key === undefined;
    const key =
      ref.key ?? base?.key ?? fail(binding, 'dataFrom.extract has no key and the binding has no remoteRef');
    let bytes = fetched(
      values,
      request(key, ref.version ?? (inherited ? base?.version : undefined)),
      binding,
    ).bytes;
    if (ref.property !== undefined) bytes = property(binding, bytes, ref.property, key);
    const strategy = ref.decodingStrategy ?? (inherited ? base?.decodingStrategy : undefined);
    for (const [k, v] of extract(binding, bytes, key)) data.set(k, decodeOrFail(binding, k, v, strategy));
  }
  for (const entry of binding.data ?? []) {
    const ref = entry.remoteRef;
    const inherited = ref?.key === undefined;
    const key =
      ref?.key ??
      base?.key ??
      fail(binding, `data "${entry.secretKey}" has no remoteRef.key and the binding has no remoteRef`);
    let bytes = fetched(
      values,
      request(key, ref?.version ?? (inherited ? base?.version : undefined)),
      binding,
    ).bytes;
    const path = entry.property ?? ref?.property;
    if (path !== undefined) bytes = property(binding, bytes, path, key);
    const strategy = ref?.decodingStrategy ?? (inherited ? base?.decodingStrategy : undefined);
    data.set(entry.secretKey, decodeOrFail(binding, entry.secretKey, bytes, strategy));
  }
  if ((binding.data?.length ?? 0) === 0 && (binding.dataFrom?.length ?? 0) === 0 && base !== undefined) {
    // A bare remoteRef (our shorthand): a property under its own name, else extract a
    // JSON object, else the raw value under "value".
    let bytes = fetched(values, request(base.key, base.version), binding).bytes;
    if (base.property !== undefined) {
      bytes = property(binding, bytes, base.property, base.key);
      const name = base.property.split('.').pop() ?? base.property;
      data.set(name, decodeOrFail(binding, name, bytes, base.decodingStrategy));
    } else {
      const entries = rawObjectEntries(utf8.decode(bytes));
      if (entries === undefined)
        data.set('value', decodeOrFail(binding, 'value', bytes, base.decodingStrategy));
      else
        for (const [k, raw] of entries)
          data.set(k, decodeOrFail(binding, k, encoder.encode(rawToString(raw)), base.decodingStrategy));
    }
  }
  return data;
}

const parsed = new Map<string, Node[]>();

function compile(binding: BindingSpec, where: string, source: string): Node[] {
  const cached = parsed.get(source);
  if (cached !== undefined) return cached;
  let nodes: Node[];
  try {
    nodes = parseTemplate(source);
  } catch (error) {
    if (error instanceof TemplateSyntaxError)
      fail(binding, `${where}: template does not parse: ${error.message}`);
    throw error;
  }
  for (const name of functionNames(nodes)) {
    if (!isSupportedFunction(name)) fail(binding, `${where}: function "${name}" is not supported`);
  }
  if (parsed.size > 1000) parsed.clear();
  parsed.set(source, nodes);
  return nodes;
}

function execute(
  binding: BindingSpec,
  where: string,
  source: string,
  data: ReturnType<typeof stringMap>,
): string {
  const nodes = compile(binding, where, source);
  try {
    return executeTemplate(nodes, data);
  } catch (error) {
    if (error instanceof TemplateExecError) fail(binding, `${where}: ${error.message}`);
    throw error;
  }
}

/** Checks that every template of a binding parses and uses only supported functions. */
export function checkTemplates(binding: BindingSpec): void {
  const template = binding.target.template;
  if (template === undefined) return;
  for (const [k, v] of Object.entries(template.data ?? {})) compile(binding, `template key "${k}"`, v);
  for (const [k, v] of Object.entries(template.metadata?.labels ?? {}))
    compile(binding, `template label "${k}"`, v);
  for (const [k, v] of Object.entries(template.metadata?.annotations ?? {}))
    compile(binding, `template annotation "${k}"`, v);
}

export function renderSecret(binding: BindingSpec, values: FetchedValues): RenderedSecret {
  const fetchedData = fetchData(binding, values);
  const template = binding.target.template;
  if (template === undefined) {
    return { type: 'Opaque', data: Object.fromEntries(fetchedData), labels: {}, annotations: {} };
  }
  const strings: Record<string, string> = {};
  for (const [k, v] of fetchedData) strings[k] = utf8.decode(v);
  const dot = stringMap(strings);

  const data: Record<string, Uint8Array> = {};
  const templated = Object.entries(template.data ?? {});
  // ESO: with Merge the fetched keys are kept under the templated ones; without any
  // template data the fetched data is the Secret's data.
  if (template.mergePolicy === 'Merge' || templated.length === 0)
    for (const [k, v] of fetchedData) data[k] = v;
  for (const [k, source] of templated)
    data[k] = encoder.encode(execute(binding, `template key "${k}"`, source, dot));

  const labels: Record<string, string> = {};
  for (const [k, source] of Object.entries(template.metadata?.labels ?? {}))
    labels[k] = execute(binding, `template label "${k}"`, source, dot);
  const annotations: Record<string, string> = {};
  for (const [k, source] of Object.entries(template.metadata?.annotations ?? {}))
    annotations[k] = execute(binding, `template annotation "${k}"`, source, dot);

  return { type: template.type ?? 'Opaque', data, labels, annotations };
}
