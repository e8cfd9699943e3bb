/**
 * The patch formats the API server accepts. Strategic merge is implemented for the fields
 * kubectl and our gateway touch: lists of containers, env, volumes, ports... merge by key;
 * `$patch`, `$setElementOrder/...`, `$retainKeys` and `$deleteFromPrimitiveList/...` directives are honoured or dropped.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export class PatchError extends Error {}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** Merge keys of the list fields of core and apps objects (from the Kubernetes Go struct tags). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  conditions: 'type',
  tolerations: 'key',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  ownerReferences: 'uid',
  finalizers: '',
};

function mergeList(key: string, target: Json[], patch: Json[]): Json[] {
  const mergeKey = MERGE_KEYS[key];
  if (mergeKey === undefined) {
    // Atomic list: replaced, except for a `$patch: replace` wrapper which means the same.
    return patch.filter((item) => !(isObject(item) && item.$patch === 'replace'));
  }
  if (mergeKey === '') {
    // Primitive set (finalizers): union.
    const out = [...target];
    for (const item of patch) if (!out.includes(item)) out.push(item);
    return out;
  }
  if (patch.some((item) => isObject(item) && item.$patch === 'replace')) {
    return patch.filter((item) => !(isObject(item) && item.$patch === 'replace'));
  }
  const out = [...target];
  for (const item of patch) {
    if (!isObject(item)) continue;
    const id = item[mergeKey];
    const index = out.findIndex((existing) => isObject(existing) && existing[mergeKey] === id);
    if (item.$patch === 'delete') {
      if (index >= 0) out.splice(index, 1);
      continue;
    }
    if (index >= 0) out[index] = strategicMergePatch(out[index], item);
    else out.push(strategicMergePatch(undefined, item));
  }
  return out;
}

/** Strategic merge patch (kubectl's default for built-in kinds). */
export function strategicMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return patch;
  if (patch.$patch === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return rest;
  }
  if (patch.$patch === 'delete') return null;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value))
        result[field] = current.filter((v) => !value.includes(v));
      continue;
    }
    if (value === null) {
      delete result[key];
      continue;
    }
    const current = result[key];
    if (Array.isArray(value)) {
      result[key] = mergeList(key, Array.isArray(current) ? current : [], value);
    } else if (isObject(value)) {
      const merged = strategicMergePatch(current, value);
      if (merged === null) delete result[key];
      else result[key] = merged;
    } else {
      result[key] = value;
    }
  }
  return result;
}

function unescapePointer(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path.slice(1).split('/').map(unescapePointer);
}

function clone<T extends Json>(value: T): T {
  return structuredClone(value);
}

function parentOf(doc: Json, tokens: string[]): { parent: Json; last: string } {
  let node: Json = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(token)] ?? null;
    else if (isObject(node)) node = node[token] ?? null;
    else node = null;
    if (node === null) throw new PatchError(`path not found: /${tokens.join('/')}`);
  }
  const last = tokens[tokens.length - 1];
  if (last === undefined) throw new PatchError('cannot operate on the document root');
  return { parent: node, last };
}

function getAt(doc: Json, tokens: string[]): Json | undefined {
  let node: Json | undefined = doc;
  for (const token of tokens) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isObject(node)) node = node[token];
    else return undefined;
  }
  return node;
}

function removeAt(doc: Json, tokens: string[]): Json {
  const { parent, last } = parentOf(doc, tokens);
  if (Array.isArray(parent)) {
    const index = Number(last);
    if (!(index >= 0 && index < parent.length)) throw new PatchError(`index out of range: ${last}`);
    return parent.splice(index, 1)[0] ?? null;
  }
  if (isObject(parent) && last in parent) {
    const value = parent[last] ?? null;
    delete parent[last];
    return value;
  }
  throw new PatchError(`path not found: /${tokens.join('/')}`);
}

function addAt(doc: Json, tokens: string[], value: Json, replace: boolean): void {
  const { parent, last } = parentOf(doc, tokens);
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (!(index >= 0 && index <= parent.length)) throw new PatchError(`index out of range: ${last}`);
    if (replace) parent[index] = value;
    else parent.splice(index, 0, value);
    return;
  }
  if (!isObject(parent)) throw new PatchError(`path not found: /${tokens.join('/')}`);
  if (replace && !(last in parent)) throw new PatchError(`path not found: /${tokens.join('/')}`);
  parent[last] = value;
}

/** RFC 6902 JSON patch. */
export function jsonPatch(target: Json, operations: Json): Json {
  if (!Array.isArray(operations)) throw new PatchError('a JSON patch must be an array of operations');
  let doc = clone(target);
  for (const op of operations) {
    if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') {
      throw new PatchError('each JSON patch operation needs "op" and "path"');
    }
    const tokens = pointer(op.path);
    switch (op.op) {
      case 'add':
      case 'replace': {
        const value = clone(op.value ?? null);
        if (tokens.length === 0) doc = value;
        else addAt(doc, tokens, value, op.op === 'replace');
        break;
      }
      case 'remove':
        removeAt(doc, tokens);
        break;
      case 'move':
      case 'copy': {
        if (typeof op.from !== 'string') throw new PatchError(`"${op.op}" needs "from"`);
        const from = pointer(op.from);
        const value = op.op === 'move' ? removeAt(doc, from) : clone(getAt(doc, from) ?? null);
        addAt(doc, tokens, value, false);
        break;
      }
      case 'test': {
        const actual = getAt(doc, tokens);
        if (JSON.stringify(actual) !== JSON.stringify(op.value))
          throw new PatchError(`test operation failed at ${op.path}`);
        break;
      }
      default:
        throw new PatchError(`unknown JSON patch operation ${JSON.stringify(op.op)}`);
    }
  }
  return doc;
}
