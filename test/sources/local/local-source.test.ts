import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { SecretChange } from '../../../shared/core/change.js';
import { SecretNotFoundError, StoreError } from '../../../shared/core/errors.js';
import type { LocalEvent } from '../../../shared/events/local.js';
import {
  createLocalSource,
  localSourceFactory,
  watchLocalSource,
  type LocalSourceWatcher,
} from '../../../shared/sources/local/index.js';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const fixedClock = { now: () => new Date('2026-03-01T12:00:00Z'), sleep: () => Promise.resolve() };
const silentLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** A store with one secret in history form and one in the simple form, as a person would write it. */
const aStoreYaml = (overrides = '') => `# hand-written local store
prod/database:
  current: "2"
  versions:
    - id: "1"
      created: 2026-01-01T00:00:00Z
      value: { username: app, password: first-password }
    - id: "2"
      created: 2026-02-01T00:00:00Z
      value: { username: app, password: second-password }
    - id: "3"
      value: { username: app, password: staged-password }
      enabled: false
app/api-key: plain-api-key
${overrides}`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-source-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function aStoreFile(content = aStoreYaml(), file = 'secrets.yaml'): Promise<string> {
  const path = join(dir, file);
  await writeFile(path, content);
  return path;
}

describe('local source reads', () => {
  it('sees an in-place edit of the same size at once, though parsed files are reused', async () => {
    // given a store read once (so its parse is cached)
    const path = await aStoreFile('app/api-key: aaaaaaaa\n', 'same-size.yaml');
    const source = createLocalSource({ name: 'local', path });
    expect(text((await source.read('app/api-key')).bytes)).toBe('aaaaaaaa');
    // when the file is rewritten in place with a value of the same length
    await writeFile(path, 'app/api-key: bbbbbbbb\n');
    // then the next read returns the new value
    expect(text((await source.read('app/api-key')).bytes)).toBe('bbbbbbbb');
  });

  it('answers many concurrent reads of one shared file, each with its own value', async () => {
    // given one file holding many cluster tokens, read concurrently as a fleet's cold start does
    const tokens = Object.fromEntries(
      Array.from({ length: 200 }, (_, i) => [`kube-token-c${i}`, `token-${i}`]),
    );
    const path = await aStoreFile(JSON.stringify(tokens), 'tokens.json');
    const source = createLocalSource({ name: 'tokens', path });
    // when
    const values = await Promise.all(
      Object.keys(tokens).map(async (k) => text((await source.read(k)).bytes)),
    );
    // then every read got its own value
    expect(values).toEqual(Object.values(tokens));
  });
  it('reads the version named by current, with its creation time', async () => {
    // given
    const source = createLocalSource({ name: 'local-main', path: await aStoreFile() });
    // when
    const value = await source.read('prod/database');
    // then
    expect(value.versionId).toBe('2');
    expect(JSON.parse(text(value.bytes))).toEqual({ username: 'app', password: 'second-password' });
    expect(value.createdAt?.toISOString()).toBe('2026-02-01T00:00:00.000Z');
  });

  it('reads a named version', async () => {
    // given
    const source = createLocalSource({ name: 'local-main', path: await aStoreFile() });
    // when
    const value = await source.read('prod/database', { version: '1' });
    // then
    expect(JSON.parse(text(value.bytes))).toEqual({ username: 'app', password: 'first-password' });
  });

  it('reads the simple form as one version "1" with the string as its bytes', async () => {
    // given
    const source = createLocalSource({ name: 'local-main', path: await aStoreFile() });
    // when
    const value = await source.read('app/api-key');
    // then
    expect(value).toMatchObject({ versionId: '1' });
    expect(text(value.bytes)).toBe('plain-api-key');
  });

  it('falls back to the last enabled version when there is no current pointer', async () => {
    // given
    const path = await aStoreFile(
      JSON.stringify({ k: { versions: [{ value: 'a' }, { value: 'b' }, { value: 'c', enabled: false }] } }),
      'store.json',
    );
    const source = createLocalSource({ name: 'l', path });
    // when
    const value = await source.read('k');
    // then
    expect(value.versionId).toBe('2');
    expect(text(value.bytes)).toBe('b');
  });

  it('throws SecretNotFoundError for an unknown secret, an unknown version and a disabled version', async () => {
    // given
    const source = createLocalSource({ name: 'local-main', path: await aStoreFile() });
    // when / then
    await expect(source.read('nope')).rejects.toThrow(
      new SecretNotFoundError(
        'secret "nope" not found in local source "local-main" (' + join(dir, 'secrets.yaml') + ')',
      ),
    );
    await expect(source.read('prod/database', { version: '9' })).rejects.toBeInstanceOf(SecretNotFoundError);
    await expect(source.read('prod/database', { version: '3' })).rejects.toThrow(
      'version "3" of secret "prod/database" in local source "local-main" is disabled',
    );
  });

  it('reports a malformed store by position without quoting any value', async () => {
    // given
    const path = await aStoreFile(
      'db:\n  versions:\n    - id: "1"\n      value: canary-value-123\n      colour: blue\n',
    );
    const source = createLocalSource({ name: 'l', path });
    // when
    const failure = await source.read('db').catch((error: unknown) => error);
    // then
    expect(failure).toBeInstanceOf(StoreError);
    expect((failure as Error).message).toBe(
      `${path}: secret "db".versions[0]: unknown key(s) "colour" (allowed: id, created, value, valueBase64, enabled)`,
    );
    expect((failure as Error).message).not.toContain('canary-value-123');
  });

  it('reports a YAML syntax error by line without quoting the line', async () => {
    // given
    const path = await aStoreFile('db: "canary-value-456\nother: [\n');
    const source = createLocalSource({ name: 'l', path });
    // when
    const failure = await source.read('db').catch((error: unknown) => error);
    // then
    expect((failure as Error).message).toMatch(/is not valid JSON\/YAML at line \d+/);
    expect((failure as Error).message).not.toContain('canary-value-456');
  });

  it('reads a .json store whose strings hold brackets, colons and escaped quotes, with keys repeated across objects', async () => {
    // given JSON text (read with JSON.parse) where the same keys appear in different objects
    const store = {
      'a/one': {
        versions: [
          { id: '1', value: 'x{"y": [1]}:' },
          { id: '2', value: { id: 'not-a-version-id', '{': '"]' } },
        ],
      },
      'b/two': { versions: [{ id: '1', value: '\\"id\\": "1"' }] },
    };
    const source = createLocalSource({
      name: 'l',
      path: await aStoreFile(JSON.stringify(store, null, 2), 'store.json'),
    });
    // when
    const [a, b] = await Promise.all([source.read('a/one'), source.read('b/two')]);
    // then
    expect(a.versionId).toBe('2');
    expect(JSON.parse(text(a.bytes))).toEqual({ id: 'not-a-version-id', '{': '"]' });
    expect(text(b.bytes)).toBe('\\"id\\": "1"');
  });

  it('refuses a .json store that repeats a secret name, by position and without quoting a value', async () => {
    // given valid JSON text (JSON.parse alone would keep the second) naming one secret twice
    const path = await aStoreFile(
      '{\n  "db": "canary-value-789",\n  "db": "canary-value-790"\n}\n',
      'store.json',
    );
    const source = createLocalSource({ name: 'l', path });
    // when
    const failure = await source.read('db').catch((error: unknown) => error);
    // then
    expect(failure).toBeInstanceOf(StoreError);
    expect((failure as Error).message).toBe(
      `local store file ${path} is not valid JSON/YAML at line 3, column 3 (DUPLICATE_KEY)`,
    );
    expect((failure as Error).message).not.toContain('canary-value');
  });

  it('refuses a repeated key inside one value of a .json store, even when written with an escape', async () => {
    // given "user" and "\u0075ser", the same key
    const path = await aStoreFile(
      '{"db": {"user": "canary-value-791", "\\u0075ser": "canary-value-792"}}',
      'store.json',
    );
    const source = createLocalSource({ name: 'l', path });
    // when
    const failure = await source.read('db').catch((error: unknown) => error);
    // then
    expect((failure as Error).message).toMatch(
      /is not valid JSON\/YAML at line 1, column \d+ \(DUPLICATE_KEY\)$/,
    );
    expect((failure as Error).message).not.toContain('canary-value');
  });

  it('still reads a .json store that only the YAML parser accepts (a trailing comma), and reports broken JSON by position', async () => {
    // given
    const lenient = createLocalSource({
      name: 'l',
      path: await aStoreFile('{"db": "v1",}\n', 'lenient.json'),
    });
    const broken = createLocalSource({
      name: 'l',
      path: await aStoreFile('{"db": "canary-value-793", "x": [}\n', 'broken.json'),
    });
    // when
    const read = await lenient.read('db');
    const failure = await broken.read('db').catch((error: unknown) => error);
    // then
    expect(text(read.bytes)).toBe('v1');
    expect(failure).toBeInstanceOf(StoreError);
    expect((failure as Error).message).toMatch(/broken\.json is not valid JSON\/YAML at line 1, column \d+/);
    expect((failure as Error).message).not.toContain('canary-value');
  });

  it('reads secrets from every store file of a folder', async () => {
    // given
    await aStoreFile('team-a/token: token-a\n', 'a.yaml');
    await aStoreFile(
      JSON.stringify({ 'team-b/token': { versions: [{ id: 'v1', value: 'token-b' }] } }),
      'b.json',
    );
    await aStoreFile('ignored: not-a-store-file', 'notes.txt');
    const source = localSourceFactory(
      { name: 'folder', provider: 'local', path: '.' },
      { baseDir: dir, logger: silentLogger },
    );
    // when
    const [a, b] = await Promise.all([source.read('team-a/token'), source.read('team-b/token')]);
    // then
    expect(text(a.bytes)).toBe('token-a');
    expect(b.versionId).toBe('v1');
    await expect(source.read('ignored')).rejects.toBeInstanceOf(SecretNotFoundError);
  });

  it('refuses a folder that defines one secret in two files', async () => {
    // given
    await aStoreFile('dup: one\n', 'a.yaml');
    await aStoreFile('dup: two\n', 'b.yaml');
    const source = createLocalSource({ name: 'folder', path: dir });
    // when / then
    await expect(source.read('dup')).rejects.toThrow('secret "dup" is defined in both a.yaml and b.yaml');
  });

  it('refers to a change by the exact secret name', () => {
    // given
    const source = createLocalSource({ name: 'l', path: '/nowhere' });
    // when / then
    expect(source.refersTo('prod/database', 'prod/database')).toBe(true);
    expect(source.refersTo('prod/database', 'prod/database-2')).toBe(false);
  });
});

describe('local source writes', () => {
  it('appends a version with writeVersion, makes it current and keeps comments', async () => {
    // given
    const path = await aStoreFile();
    const source = createLocalSource({ name: 'l', path, clock: fixedClock });
    // when
    const written = await source.writeVersion?.(
      'prod/database',
      new TextEncoder().encode('{"username":"app","password":"new"}'),
    );
    // then
    expect(written).toEqual({ versionId: '4' });
    const value = await source.read('prod/database');
    expect(value.versionId).toBe('4');
    expect(value.createdAt?.toISOString()).toBe('2026-03-01T12:00:00.000Z');
    const file = await readFile(path, 'utf8');
    expect(file).toContain('# hand-written local store');
    expect(parse(file)['prod/database'].versions[3]).toEqual({
      id: '4',
      created: '2026-03-01T12:00:00.000Z',
      value: { username: 'app', password: 'new' },
    });
  });

  it('turns a simple entry into history form on write, keeping the old value as version 1', async () => {
    // given
    const path = await aStoreFile(JSON.stringify({ token: 'old' }), 'store.json');
    const source = createLocalSource({ name: 'l', path, clock: fixedClock });
    // when
    await source.writeVersion?.('token', new TextEncoder().encode('new'));
    // then
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({
      token: {
        versions: [
          { id: '1', value: 'old' },
          { id: '2', created: '2026-03-01T12:00:00.000Z', value: 'new' },
        ],
        current: '2',
      },
    });
    expect(text((await source.read('token', { version: '1' })).bytes)).toBe('old');
  });

  it('keeps binary values byte for byte', async () => {
    // given
    const path = await aStoreFile('{}', 'store.json');
    const source = createLocalSource({ name: 'l', path });
    const bytes = new Uint8Array([0, 255, 1, 254]);
    // when
    await source.writeVersion?.('blob', bytes);
    // then
    expect([...(await source.read('blob')).bytes]).toEqual([0, 255, 1, 254]);
  });

  it('rotates a JSON value by generating a new password and keeping the other properties', async () => {
    // given
    const path = await aStoreFile();
    const source = createLocalSource({ name: 'l', path, generatePassword: () => 'generated-password' });
    // when
    await source.rotate?.('prod/database');
    // then
    const value = await source.read('prod/database');
    expect(value.versionId).toBe('4');
    expect(JSON.parse(text(value.bytes))).toEqual({ username: 'app', password: 'generated-password' });
  });

  it('rotates a string value into a new random password', async () => {
    // given
    const source = createLocalSource({ name: 'l', path: await aStoreFile() });
    // when
    await source.rotate?.('app/api-key');
    // then
    const value = await source.read('app/api-key');
    expect(value.versionId).toBe('2');
    expect(text(value.bytes)).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('serialises concurrent writes so no version is lost', async () => {
    // given
    const source = createLocalSource({ name: 'l', path: await aStoreFile() });
    // when
    const writeVersion = source.writeVersion;
    if (writeVersion === undefined) throw new Error('the local source must support writeVersion');
    const ids = await Promise.all(
      ['a', 'b', 'c'].map((v) => writeVersion('app/api-key', new TextEncoder().encode(v))),
    );
    // then
    expect(ids.map((r) => r.versionId)).toEqual(['2', '3', '4']);
    expect(text((await source.read('app/api-key')).bytes)).toBe('c');
  });

  it('refuses to rotate a secret that does not exist', async () => {
    // given
    const source = createLocalSource({ name: 'l', path: await aStoreFile() });
    // when / then
    await expect(source.rotate?.('missing')).rejects.toBeInstanceOf(SecretNotFoundError);
  });
});

describe('watchLocalSource', () => {
  let watcher: LocalSourceWatcher | undefined;
  afterEach(async () => {
    await watcher?.close();
    watcher = undefined;
  });

  function collect() {
    const seen: { change: SecretChange; event: LocalEvent }[] = [];
    let notify: () => void = () => {};
    const onChange = (change: SecretChange, event: LocalEvent) => {
      seen.push({ change, event });
      notify();
    };
    const waitFor = (count: number) =>
      new Promise<void>((resolve, reject) => {
        const timeout = setTimeout(
          () => reject(new Error(`saw ${seen.length} changes, wanted ${count}`)),
          5000,
        );
        notify = () => {
          if (seen.length >= count) {
            clearTimeout(timeout);
            resolve();
          }
        };
        notify();
      });
    return { seen, onChange, waitFor };
  }

  it('emits one version-current change with the new version id when a version is written', async () => {
    // given
    const path = await aStoreFile();
    const { seen, onChange, waitFor } = collect();
    watcher = await watchLocalSource(path, onChange, { debounceMs: 50, source: 'local-main' });
    // when
    await createLocalSource({ name: 'local-main', path }).writeVersion?.(
      'prod/database',
      new TextEncoder().encode('{"password":"x"}'),
    );
    await waitFor(1);
    // then
    expect(seen).toHaveLength(1);
    expect(seen[0]?.change).toMatchObject({
      provider: 'local',
      secretRef: 'prod/database',
      kind: 'version-current',
      versionId: '4',
    });
    expect(seen[0]?.event).toMatchObject({
      type: 'secret-version-created',
      secret: 'prod/database',
      version: '4',
      source: 'local-main',
    });
  });

  it('debounces a burst of saves into one change per secret', async () => {
    // given
    const path = await aStoreFile();
    const { seen, onChange, waitFor } = collect();
    watcher = await watchLocalSource(path, onChange, { debounceMs: 150 });
    // when
    for (const value of ['a', 'b', 'c']) await writeFile(path, aStoreYaml().replace('plain-api-key', value));
    await waitFor(1);
    await new Promise((r) => setTimeout(r, 300));
    // then
    expect(seen.map((s) => s.event.type)).toEqual(['secret-version-current']);
    expect(seen[0]?.change).toMatchObject({ secretRef: 'app/api-key', versionId: '1' });
  });

  it('reports hand edits: a new secret, a disabled current version and a deleted secret', async () => {
    // given
    const path = await aStoreFile();
    const { seen, onChange, waitFor } = collect();
    watcher = await watchLocalSource(path, onChange, { debounceMs: 50 });
    // when
    const edited = aStoreYaml()
      .replace('app/api-key: plain-api-key\n', 'new/secret: hello\n')
      .replace(
        '      value: { username: app, password: second-password }',
        '      value: { username: app, password: second-password }\n      enabled: false',
      );
    await writeFile(path, edited);
    await waitFor(3);
    // then
    expect(seen.map((s) => [s.event.type, s.change.secretRef, s.change.kind, s.change.versionId])).toEqual([
      ['secret-deleted', 'app/api-key', 'deleted', undefined],
      ['secret-created', 'new/secret', 'version-current', '1'],
      ['secret-version-disabled', 'prod/database', 'version-disabled', '2'],
    ]);
  });

  it('keeps watching after a half-saved file and reports the error without values', async () => {
    // given
    const path = await aStoreFile();
    const { seen, onChange, waitFor } = collect();
    const errors: unknown[] = [];
    watcher = await watchLocalSource(path, onChange, { debounceMs: 50, onError: (e) => errors.push(e) });
    // when
    await writeFile(path, 'app/api-key: "canary-half\n');
    await new Promise((r) => setTimeout(r, 200));
    await writeFile(path, aStoreYaml().replace('plain-api-key', 'fixed'));
    await waitFor(1);
    // then
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(String(errors[0])).not.toContain('canary-half');
    expect(seen[0]?.change).toMatchObject({ secretRef: 'app/api-key' });
  });

  it('watches a folder store', async () => {
    // given
    await aStoreFile('a: one\n', 'a.yaml');
    const { seen, onChange, waitFor } = collect();
    watcher = await watchLocalSource(dir, onChange, { debounceMs: 50 });
    // when
    await writeFile(join(dir, 'b.yaml'), 'b: two\n');
    await waitFor(1);
    // then
    expect(seen[0]?.change).toMatchObject({ secretRef: 'b', kind: 'version-current', versionId: '1' });
  });
});
