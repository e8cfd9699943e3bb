import { randomUUID } from 'node:crypto';
import type { Json, JsonObject } from './patch.js';
import { isObject } from './patch.js';
import type { ResourceType } from './resources.js';
import { applyDefaults, progressingStatus, RESOURCES, settledStatus } from './resources.js';
import { secretCauses, secretUpdateCauses } from './secrets.js';
import { unhealthyCause, type UnhealthyRule } from './unhealthy.js';

/** What a bearer token may do. Omitted lists mean "everything". */
export interface TokenGrant {
  /** Shown in 403 messages, like a real user name. @default "test-user" */
  user?: string;
  namespaces?: string[];
  /** Kubernetes verbs: get, list, watch, create, update, patch, delete. */
  verbs?: string[];
  /** Plurals: secrets, deployments, ... */
  resources?: string[];
}

/** A fault injected into the next requests of one cluster (resource requests only, not discovery). */
export interface Fault {
  /** Answer with this HTTP status and a matching Status body. */
  status?: number;
  /** How many requests the fault applies to. @default unlimited, until cleared */
  times?: number;
  /** Extra delay before answering. */
  latencyMs?: number;
  /** Never answer (the client must time out). */
  hang?: boolean;
  /** Only requests with this Kubernetes verb. */
  verb?: string;
}

/** How the workload controller behaves. */
export interface ControllerOptions {
  /** Delay before a rollout settles. @default 50 */
  rolloutDelayMs?: number;
  /** Rollouts are observed but never become available. @default false */
  neverReady?: boolean;
  /**
   * A workload whose pod template reads a rule's Secret key never becomes available while that
   * Secret holds the rule's value (a wrong password making pods crash-loop). @default []
   */
  unhealthyWhen?: readonly UnhealthyRule[];
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: JsonObject;
  resourceVersion: number;
  plural: string;
}

export type Watcher = (event: WatchEvent) => void;

/** One served request, for tests and benchmarks. */
export interface RequestRecord {
  cluster: string;
  /** Kubernetes verb: get, list, watch, create, update, patch, delete (discovery counts as get). */
  verb: string;
  method: string;
  path: string;
  status: number;
}

/** Whether two stored forms are equal apart from the resourceVersion (a no-op write). */
function sameObject(a: JsonObject, b: JsonObject): boolean {
  const { resourceVersion: _a, ...metaA } = meta(a);
  const { resourceVersion: _b, ...metaB } = meta(b);
  return (
    JSON.stringify(canonical({ ...a, metadata: metaA })) ===
    JSON.stringify(canonical({ ...b, metadata: metaB }))
  );
}

/** `value` with every object's keys sorted, so key order does not make two objects differ. */
function canonical(value: Json): Json {
  if (Array.isArray(value)) return value.map(canonical);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, canonical(value[k] ?? null)]),
  );
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: JsonObject,
  ) {
    super(message);
  }

  toStatus(): JsonObject {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details === undefined ? {} : { details: this.details }),
      code: this.code,
    };
  }
}

export const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function meta(o: JsonObject): JsonObject {
  if (!isObject(o.metadata)) o.metadata = {};
  return o.metadata;
}

function str(value: Json | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

const HISTORY = 64;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * One virtual cluster: objects keyed by `plural/namespace/name`, a resourceVersion counter,
 * a short event history for watches, tokens, faults and the workload controller.
 * Objects are replaced on every write, never mutated, so events and history can share them.
 */
export class VirtualCluster {
  readonly objects = new Map<string, JsonObject>();
  readonly tokens = new Map<string, TokenGrant>();
  readonly watchers = new Set<Watcher>();
  readonly history: WatchEvent[] = [];
  readonly requestLog: RequestRecord[] = [];
  readonly counts = new Map<string, number>();
  faults: Fault[] = [];
  /** TCP connections accepted so far (keep-alive reuse shows as few connections for many requests). */
  connections = 0;
  controller: Required<ControllerOptions> = { rolloutDelayMs: 50, neverReady: false, unhealthyWhen: [] };
  latencyMs: number;
  private rv = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly name: string,
    readonly token: string,
    options: { latencyMs?: number; recordRequests?: boolean } = {},
    readonly recordRequests = options.recordRequests ?? true,
  ) {
    this.latencyMs = options.latencyMs ?? 0;
    this.tokens.set(token, { user: 'admin' });
    for (const ns of ['default', 'kube-system', 'kube-public'])
      this.seed('namespaces', { metadata: { name: ns } });
  }

  record(entry: RequestRecord): void {
    this.counts.set(entry.verb, (this.counts.get(entry.verb) ?? 0) + 1);
    if (this.recordRequests) this.requestLog.push(entry);
  }

  /** Takes the fault that applies to this request, if any, and counts it down. */
  takeFault(verb: string): Fault | undefined {
    const index = this.faults.findIndex((f) => f.verb === undefined || f.verb === verb);
    const fault = this.faults[index];
    if (fault === undefined) return undefined;
    if (fault.times !== undefined) {
      fault.times -= 1;
      if (fault.times <= 0) this.faults.splice(index, 1);
    }
    return fault;
  }

  static key(plural: string, namespace: string | undefined, name: string): string {
    return `${plural}/${namespace ?? ''}/${name}`;
  }

  get(type: ResourceType, namespace: string | undefined, name: string): JsonObject {
    const found = this.objects.get(VirtualCluster.key(type.plural, namespace, name));
    if (found === undefined) throw notFound(type, name);
    return found;
  }

  list(type: ResourceType, namespace: string | undefined): JsonObject[] {
    const prefix = namespace === undefined ? `${type.plural}/` : `${type.plural}/${namespace}/`;
    const out: JsonObject[] = [];
    for (const [key, value] of this.objects) if (key.startsWith(prefix)) out.push(value);
    return out.sort((a, b) => {
      const ka = `${str(meta(a).namespace) ?? ''}/${str(meta(a).name) ?? ''}`;
      const kb = `${str(meta(b).namespace) ?? ''}/${str(meta(b).name) ?? ''}`;
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  private requireNamespace(type: ResourceType, namespace: string | undefined): void {
    if (!type.namespaced || namespace === undefined) return;
    if (!this.objects.has(VirtualCluster.key('namespaces', undefined, namespace))) {
      throw new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`, {
        name: namespace,
        kind: 'namespaces',
      });
    }
  }

  private validate(type: ResourceType, body: JsonObject, current?: JsonObject): void {
    const name = str(meta(body).name) ?? '';
    const causes: Json[] = [];
    if (type.kind === 'Secret') {
      causes.push(...secretCauses(body));
      if (current !== undefined) causes.push(...secretUpdateCauses(current, body));
    }
    if (name === '')
      causes.push({
        reason: 'FieldValueRequired',
        message: 'Required value: name or generateName is required',
        field: 'metadata.name',
      });
    else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
        field: 'metadata.name',
      });
    }
    if (type.kind === 'Secret' && body.data !== undefined && body.data !== null) {
      if (!isObject(body.data))
        causes.push({
          reason: 'FieldValueInvalid',
          message: 'Invalid value: data must be a map',
          field: 'data',
        });
      else {
        for (const [key, value] of Object.entries(body.data)) {
          if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
            causes.push({
              reason: 'FieldValueInvalid',
              message: 'Invalid value: illegal base64 data',
              field: `data[${key}]`,
            });
          }
          if (!/^[-._a-zA-Z0-9]+$/.test(key)) {
            causes.push({
              reason: 'FieldValueInvalid',
              message: `Invalid value: "${key}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
              field: `data[${key}]`,
            });
          }
        }
      }
    }
    if (type.workload && !isObject(isObject(body.spec) ? body.spec.template : undefined)) {
      causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.template' });
    }
    if (causes.length > 0) {
      const first = causes[0];
      const summary = causes
        .map((c) => (isObject(c) ? `${str(c.field) ?? ''}: ${str(c.message) ?? ''}` : ''))
        .join(', ');
      throw new ApiError(422, 'Invalid', `${type.kind} "${name}" is invalid: ${summary}`, {
        name,
        kind: type.kind,
        causes: first === undefined ? [] : causes,
      });
    }
  }

  /** Secret `stringData` is write-only: folded into `data` as base64. */
  private normalizeSecret(body: JsonObject): void {
    if (isObject(body.stringData)) {
      const data = isObject(body.data) ? { ...body.data } : {};
      for (const [k, v] of Object.entries(body.stringData))
        data[k] = Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64');
      body.data = data;
    }
    delete body.stringData;
  }

  private nextRv(): number {
    this.rv += 1;
    return this.rv;
  }

  private emit(type: WatchEvent['type'], plural: string, object: JsonObject, resourceVersion: number): void {
    const event: WatchEvent = { type, object, resourceVersion, plural };
    this.history.push(event);
    if (this.history.length > HISTORY) this.history.shift();
    for (const watcher of this.watchers) watcher(event);
  }

  create(
    type: ResourceType,
    namespace: string | undefined,
    input: JsonObject,
    options: { dryRun?: boolean } = {},
  ): JsonObject {
    const body = structuredClone(input);
    const metadata = meta(body);
    if (str(metadata.name) === undefined && typeof metadata.generateName === 'string') {
      metadata.name = `${metadata.generateName}${Math.random().toString(36).slice(2, 7)}`;
    }
    if (type.namespaced) {
      const bodyNs = str(metadata.namespace);
      if (bodyNs !== undefined && namespace !== undefined && bodyNs !== namespace) {
        throw new ApiError(
          400,
          'BadRequest',
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      metadata.namespace = namespace ?? bodyNs ?? 'default';
    }
    body.apiVersion = type.apiVersion;
    body.kind = type.kind;
    if (type.kind === 'Secret') this.normalizeSecret(body);
    this.validate(type, body);
    const name = str(metadata.name) ?? '';
    const ns = type.namespaced ? str(metadata.namespace) : undefined;
    this.requireNamespace(type, ns);
    const key = VirtualCluster.key(type.plural, ns, name);
    if (this.objects.has(key)) {
      throw new ApiError(
        409,
        'AlreadyExists',
        `${type.plural}${type.group === '' ? '' : `.${type.group}`} "${name}" already exists`,
        { name, group: type.group, kind: type.plural },
      );
    }
    applyDefaults(type, body);
    delete metadata.resourceVersion;
    metadata.uid = randomUUID();
    metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (type.workload) metadata.generation = 1;
    if (options.dryRun === true) return body;
    const rv = this.nextRv();
    metadata.resourceVersion = String(rv);
    this.objects.set(key, body);
    this.emit('ADDED', type.plural, body, rv);
    if (type.workload) this.scheduleRollout(type, key);
    return body;
  }

  /**
   * Replaces an object. A `metadata.resourceVersion` that is not the stored one is a 409;
   * an absent one is an unconditional update (as the real server allows for these kinds).
   * `statusOnly` is the `/status` subresource; otherwise status changes are ignored.
   */
  update(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    input: JsonObject,
    options: { dryRun?: boolean; statusOnly?: boolean } = {},
  ): JsonObject {
    const current = this.get(type, namespace, name);
    const body = structuredClone(input);
    const metadata = meta(body);
    if (str(metadata.name) !== undefined && metadata.name !== name) {
      throw new ApiError(
        400,
        'BadRequest',
        `the name of the object (${str(metadata.name) ?? ''}) does not match the name on the URL (${name})`,
      );
    }
    metadata.name = name;
    const wantedRv = str(metadata.resourceVersion);
    const currentMeta = meta(current);
    if (wantedRv !== undefined && wantedRv !== '' && wantedRv !== currentMeta.resourceVersion) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${type.plural}${type.group === '' ? '' : `.${type.group}`} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        {
          name,
          group: type.group,
          kind: type.plural,
        },
      );
    }
    if (type.namespaced) metadata.namespace = namespace ?? str(currentMeta.namespace) ?? 'default';
    body.apiVersion = type.apiVersion;
    body.kind = type.kind;
    let next: JsonObject;
    if (options.statusOnly === true) {
      next = { ...current, status: body.status ?? {}, metadata: { ...currentMeta } };
    } else {
      if (type.kind === 'Secret') this.normalizeSecret(body);
      this.validate(type, body, current);
      applyDefaults(type, body);
      // Server-owned fields survive updates.
      metadata.uid = currentMeta.uid ?? null;
      metadata.creationTimestamp = currentMeta.creationTimestamp ?? null;
      if (type.workload || type.kind === 'Namespace') body.status = current.status ?? {};
      if (type.workload) {
        const specChanged = JSON.stringify(body.spec) !== JSON.stringify(current.spec);
        const generation = typeof currentMeta.generation === 'number' ? currentMeta.generation : 1;
        metadata.generation = specChanged ? generation + 1 : generation;
        if (specChanged)
          body.status = progressingStatus(type, isObject(current.status) ? current.status : {});
      }
      next = body;
    }
    if (options.dryRun === true) return next;
    // As on the real server, a write that changes nothing stores nothing: same resourceVersion.
    if (sameObject(current, next)) return current;
    const rv = this.nextRv();
    meta(next).resourceVersion = String(rv);
    const key = VirtualCluster.key(
      type.plural,
      type.namespaced ? str(meta(next).namespace) : undefined,
      name,
    );
    this.objects.set(key, next);
    this.emit('MODIFIED', type.plural, next, rv);
    if (type.workload && meta(next).generation !== currentMeta.generation) this.scheduleRollout(type, key);
    return next;
  }

  delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options: { dryRun?: boolean; preconditionRv?: string; preconditionUid?: string } = {},
  ): JsonObject {
    const current = this.get(type, namespace, name);
    if (options.preconditionUid !== undefined && options.preconditionUid !== meta(current).uid) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${type.plural} "${name}": Precondition failed: UID in precondition: ${options.preconditionUid}, UID in object meta: ${str(meta(current).uid) ?? ''}`,
        { name, kind: type.plural },
      );
    }
    if (options.preconditionRv !== undefined && options.preconditionRv !== meta(current).resourceVersion) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${type.plural} "${name}": Precondition failed: ResourceVersion in precondition: ${options.preconditionRv}, ResourceVersion in object meta: ${str(meta(current).resourceVersion) ?? ''}`,
        { name, kind: type.plural },
      );
    }
    if (options.dryRun === true) return current;
    this.objects.delete(VirtualCluster.key(type.plural, type.namespaced ? namespace : undefined, name));
    const rv = this.nextRv();
    const deleted = { ...current, metadata: { ...meta(current), resourceVersion: String(rv) } };
    this.emit('DELETED', type.plural, deleted, rv);
    if (type.kind === 'Namespace') {
      for (const r of RESOURCES.filter((x) => x.namespaced)) {
        for (const o of this.list(r, name)) this.delete(r, name, str(meta(o).name) ?? '');
      }
    }
    return deleted;
  }

  /** Deletes every object of a kind, in every namespace, without auth or faults (benchmark resets); returns how many. */
  removeAll(plural: string): number {
    const type = RESOURCES.find((r) => r.plural === plural);
    if (type === undefined) throw new Error(`unknown resource ${plural}`);
    const objects = this.list(type, undefined);
    for (const o of objects)
      this.delete(type, type.namespaced ? str(meta(o).namespace) : undefined, str(meta(o).name) ?? '');
    return objects.length;
  }

  /** Creates or replaces an object without auth or faults (test seeding). */
  seed(plural: string, input: JsonObject): JsonObject {
    const type = RESOURCES.find((r) => r.plural === plural);
    if (type === undefined) throw new Error(`unknown resource ${plural}`);
    const m = isObject(input.metadata) ? input.metadata : {};
    const name = str(m.name) ?? '';
    const ns = type.namespaced ? (str(m.namespace) ?? 'default') : undefined;
    if (ns !== undefined && !this.objects.has(VirtualCluster.key('namespaces', undefined, ns)))
      this.create(RESOURCES[0] as ResourceType, undefined, { metadata: { name: ns } });
    if (this.objects.has(VirtualCluster.key(type.plural, ns, name))) {
      const { resourceVersion: _ignored, ...rest } = m;
      return this.update(type, ns, name, { ...input, metadata: rest });
    }
    return this.create(type, ns, input);
  }

  /** After a spec change, report the rollout as settled once `rolloutDelayMs` has passed. */
  private scheduleRollout(type: ResourceType, key: string): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const current = this.objects.get(key);
      if (current === undefined) return;
      const m = meta(current);
      const cause = unhealthyCause(
        this.controller.unhealthyWhen,
        str(m.namespace) ?? '',
        current,
        (ns, name) => {
          const secret = this.objects.get(VirtualCluster.key('secrets', ns, name));
          return secret !== undefined && isObject(secret.data) ? secret.data : undefined;
        },
      );
      const status = settledStatus(
        type,
        str(m.name) ?? '',
        current,
        !this.controller.neverReady && cause === undefined,
        new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        cause,
      );
      const rv = this.nextRv();
      const next = { ...current, status, metadata: { ...m, resourceVersion: String(rv) } };
      this.objects.set(key, next);
      this.emit('MODIFIED', type.plural, next, rv);
    }, this.controller.rolloutDelayMs);
    timer.unref();
    this.timers.add(timer);
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.watchers.clear();
  }
}

export function notFound(type: ResourceType, name: string): ApiError {
  return new ApiError(
    404,
    'NotFound',
    `${type.plural}${type.group === '' ? '' : `.${type.group}`} "${name}" not found`,
    { name, group: type.group, kind: type.plural },
  );
}
