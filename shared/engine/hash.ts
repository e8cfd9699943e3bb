import { createHash } from 'node:crypto';

/** What the content hash covers: everything a binding decides about the Secret. */
export interface HashInput {
  type: string;
  data: Readonly<Record<string, Uint8Array>>;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
}

const SEP = Buffer.from([0]);

function addText(hash: ReturnType<typeof createHash>, text: string): void {
  // Length-prefixed so that ("ab","c") and ("a","bc") never collide.
  hash.update(`${Buffer.byteLength(text)}:`);
  hash.update(text);
  hash.update(SEP);
}

function addMap(
  hash: ReturnType<typeof createHash>,
  tag: string,
  map: Readonly<Record<string, string>>,
): void {
  const keys = Object.keys(map).sort();
  addText(hash, `${tag}#${keys.length}`);
  for (const key of keys) {
    addText(hash, key);
    addText(hash, map[key] ?? '');
  }
}

/**
 * sha256 (hex) over the Secret type, the data keys in sorted order with their bytes, and
 * the template's labels and annotations. Key order in the input never changes the hash.
 * The hash is stored on Secrets and pod templates; it reveals nothing usable about values.
 */
export function contentHash(input: HashInput): string {
  const hash = createHash('sha256');
  addText(hash, `type:${input.type}`);
  const keys = Object.keys(input.data).sort();
  addText(hash, `data#${keys.length}`);
  for (const key of keys) {
    const bytes = input.data[key] ?? new Uint8Array();
    addText(hash, key);
    hash.update(`${bytes.byteLength}:`);
    hash.update(bytes);
    hash.update(SEP);
  }
  addMap(hash, 'labels', input.labels);
  addMap(hash, 'annotations', input.annotations);
  return hash.digest('hex');
}
