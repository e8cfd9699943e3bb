/**
 * Just enough of the Kubernetes protobuf encoding to accept what kubectl (1.32+) sends
 * for typed creates (`kubectl create namespace|secret|deployment`): the `k8s\0` envelope
 * around `runtime.Unknown`, decoded with a small schema of the fields of the kinds we serve.
 * Unknown fields are skipped. Responses are always JSON (kubectl accepts both).
 */
import type { Json, JsonObject } from './patch.js';

export const PROTOBUF_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type FieldType =
  | 'string'
  | 'bytes'
  | 'int'
  | 'bool'
  | Schema
  | { map: 'string' | 'bytes' }
  | { repeated: 'string' | Schema };
interface Schema {
  [field: number]: [name: string, type: FieldType];
}

const stringMap: FieldType = { map: 'string' };
const labelSelector: Schema = { 1: ['matchLabels', stringMap] };
const objectMeta: Schema = {
  1: ['name', 'string'],
  2: ['generateName', 'string'],
  3: ['namespace', 'string'],
  6: ['resourceVersion', 'string'],
  11: ['labels', stringMap],
  12: ['annotations', stringMap],
  14: ['finalizers', { repeated: 'string' }],
};
const envVar: Schema = { 1: ['name', 'string'], 2: ['value', 'string'] };
const containerPort: Schema = {
  1: ['name', 'string'],
  3: ['containerPort', 'int'],
  4: ['protocol', 'string'],
};
const container: Schema = {
  1: ['name', 'string'],
  2: ['image', 'string'],
  3: ['command', { repeated: 'string' }],
  4: ['args', { repeated: 'string' }],
  6: ['ports', { repeated: containerPort }],
  7: ['env', { repeated: envVar }],
  8: ['resources', {}],
  13: ['terminationMessagePath', 'string'],
  14: ['imagePullPolicy', 'string'],
};
const podSpec: Schema = {
  2: ['containers', { repeated: container }],
  15: ['imagePullSecrets', { repeated: { 1: ['name', 'string'] } }],
};
const podTemplate: Schema = { 1: ['metadata', objectMeta], 2: ['spec', podSpec] };

const SCHEMAS: Record<string, Schema> = {
  Namespace: { 1: ['metadata', objectMeta], 2: ['spec', { 1: ['finalizers', { repeated: 'string' }] }] },
  Secret: {
    1: ['metadata', objectMeta],
    2: ['data', { map: 'bytes' }],
    3: ['type', 'string'],
    4: ['stringData', stringMap],
    5: ['immutable', 'bool'],
  },
  Deployment: {
    1: ['metadata', objectMeta],
    2: [
      'spec',
      {
        1: ['replicas', 'int'],
        2: ['selector', labelSelector],
        3: ['template', podTemplate],
        4: ['strategy', {}],
      },
    ],
  },
  StatefulSet: {
    1: ['metadata', objectMeta],
    2: [
      'spec',
      {
        1: ['replicas', 'int'],
        2: ['selector', labelSelector],
        3: ['template', podTemplate],
        5: ['serviceName', 'string'],
      },
    ],
  },
  DaemonSet: {
    1: ['metadata', objectMeta],
    2: ['spec', { 1: ['selector', labelSelector], 2: ['template', podTemplate] }],
  },
};

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.buf[this.pos++];
      if (byte === undefined) throw new Error('truncated varint');
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
  }
  bytes(): Buffer {
    const length = this.varint();
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
  }
}

type MapType = { map: 'string' | 'bytes' };
type RepeatedType = { repeated: 'string' | Schema };

function isMap(type: FieldType): type is MapType {
  return typeof type === 'object' && typeof (type as Partial<MapType>).map === 'string';
}

function isRepeated(type: FieldType): type is RepeatedType {
  return typeof type === 'object' && (type as Partial<RepeatedType>).repeated !== undefined;
}

function decodeMessage(buf: Buffer, schema: Schema): JsonObject {
  const out: JsonObject = {};
  const r = new Reader(buf);
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    const entry = schema[field];
    if (entry === undefined) {
      r.skip(wireType);
      continue;
    }
    const [name, type] = entry;
    if (type === 'int') out[name] = r.varint();
    else if (type === 'bool') out[name] = r.varint() !== 0;
    else if (type === 'string') {
      // Go's encoder writes empty strings; in JSON they are simply absent.
      const text = r.bytes().toString('utf8');
      if (text !== '') out[name] = text;
    } else if (type === 'bytes') out[name] = r.bytes().toString('base64');
    else if (isMap(type)) {
      const kv = decodeMessage(r.bytes(), { 1: ['key', 'string'], 2: ['value', type.map] });
      const existing = out[name];
      const map: JsonObject =
        typeof existing === 'object' && existing !== null && !Array.isArray(existing) ? existing : {};
      map[typeof kv.key === 'string' ? kv.key : ''] = kv.value ?? (type.map === 'bytes' ? '' : '');
      out[name] = map;
    } else if (isRepeated(type)) {
      const item: Json =
        type.repeated === 'string' ? r.bytes().toString('utf8') : decodeMessage(r.bytes(), type.repeated);
      const existing = out[name];
      out[name] = Array.isArray(existing) ? [...existing, item] : [item];
    } else {
      out[name] = decodeMessage(r.bytes(), type);
    }
  }
  return out;
}

/** Decodes a protobuf-encoded object of a kind we serve into its JSON form. */
export function decodeProtobufObject(body: Buffer): JsonObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC))
    throw new Error('missing the k8s protobuf envelope');
  const unknown = decodeMessage(body.subarray(4), {
    1: ['typeMeta', { 1: ['apiVersion', 'string'], 2: ['kind', 'string'] }],
    2: ['raw', 'bytes'],
  });
  const typeMeta = unknown.typeMeta;
  const kind =
    typeof typeMeta === 'object' &&
    typeMeta !== null &&
    !Array.isArray(typeMeta) &&
    typeof typeMeta.kind === 'string'
      ? typeMeta.kind
      : '';
  const schema = SCHEMAS[kind];
  if (schema === undefined) throw new Error(`protobuf bodies of kind "${kind}" are not supported; send JSON`);
  const raw = Buffer.from(typeof unknown.raw === 'string' ? unknown.raw : '', 'base64');
  const apiVersion =
    typeof typeMeta === 'object' && typeMeta !== null && !Array.isArray(typeMeta)
      ? (typeMeta.apiVersion ?? null)
      : null;
  return { apiVersion, kind, ...decodeMessage(raw, schema) };
}
