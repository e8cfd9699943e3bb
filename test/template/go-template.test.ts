import { RenderError } from '../../shared/core/errors.js';
import { bindingSchema, type BindingSpec } from '../../shared/registry/schema.js';
import { renderSecret, type FetchedValues } from '../../shared/template/index.js';
import { renderTemplate } from '../../shared/template/go/exec.js';
import { stringMap } from '../../shared/template/go/values.js';

/** Expected outputs are what Go text/template + Sprig (ESO template engine v2) print. */
const data = stringMap({
  user: 'admin',
  pass: 'p@ss<&>',
  json: '{"a":{"b":[1,2.5,1234567]},"s":"x","n":null,"t":true}',
  yaml: 'name: web\nports:\n  - 80\n  - 443\n',
  spaced: '  padded \n',
  'dash-key': 'dashed',
  b64: 'aGVsbG8=',
  pem: '-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nREVG\n-----END PRIVATE KEY-----\n',
});

const table: [string, string, string][] = [
  ['field', '{{ .user }}', 'admin'],
  ['pipeline into function', '{{ .user | upper }}', 'ADMIN'],
  [
    'printf with pipeline and b64enc',
    '{{ printf "%s:%s" .user .pass | b64enc }}',
    Buffer.from('admin:p@ss<&>').toString('base64'),
  ],
  ['b64dec', '{{ .b64 | b64dec }}', 'hello'],
  ['index for dashed keys', '{{ index . "dash-key" }}', 'dashed'],
  ['index of a missing key of the data map is empty', '[{{ index . "nope" }}]', '[]'],
  ['default on empty', '{{ index . "nope" | default "fallback" }}', 'fallback'],
  ['default keeps a value', '{{ .user | default "fallback" }}', 'admin'],
  ['trim', '[{{ .spaced | trim }}]', '[padded]'],
  ['lower/upper', '{{ "MiXed" | lower }}{{ "x" | upper }}', 'mixedX'],
  ['quote escapes like strconv.Quote', '{{ quote .spaced }} {{ squote .user }}', '"  padded \\n" \'admin\''],
  ['toJson escapes HTML characters like json.Marshal', '{{ .pass | toJson }}', '"p@ss\\u003c\\u0026\\u003e"'],
  [
    'fromJson then fields; floats print like Go',
    '{{ $j := fromJson .json }}{{ $j.a.b }} {{ index $j.a.b 2 }} {{ $j.s }} {{ $j.n }} {{ $j.t }}',
    '[1 2.5 1.234567e+06] 1.234567e+06 x <no value> true',
  ],
  [
    'toJson of fromJson round-trips with sorted keys',
    '{{ .json | fromJson | toJson }}',
    '{"a":{"b":[1,2.5,1234567]},"n":null,"s":"x","t":true}',
  ],
  [
    'fromYaml / toYaml',
    '{{ $y := fromYaml .yaml }}{{ $y.name }} {{ toYaml $y }}',
    'web name: web\nports:\n- 80\n- 443',
  ],
  [
    'if / else if / else',
    '{{ if eq .user "root" }}r{{ else if eq .user "admin" }}a{{ else }}x{{ end }}',
    'a',
  ],
  ['with rebinds dot', '{{ with fromJson .json }}{{ .s }}{{ end }}', 'x'],
  ['with else', '{{ with index . "nope" }}yes{{ else }}no{{ end }}', 'no'],
  ['range over a map in key order', '{{ range $k, $v := fromJson .json }}{{ $k }};{{ end }}', 'a;n;s;t;'],
  [
    'range over a list with else',
    '{{ range $i, $v := (fromJson .json).a.b }}{{ $i }}={{ $v }},{{ else }}none{{ end }}',
    '0=1,1=2.5,2=1.234567e+06,',
  ],
  ['range over empty list takes else', '{{ range list }}x{{ else }}empty{{ end }}', 'empty'],
  ['whitespace trimming', 'a  {{- .user -}}  \n b', 'aadminb'],
  ['comments', 'a{{/* note */}}b{{- /* trimmed */ -}} c', 'abc'],
  ['variables and assignment', '{{ $x := "1" }}{{ if true }}{{ $x = "2" }}{{ end }}{{ $x }}', '2'],
  [
    'printf verbs',
    '{{ printf "%d|%5s|%-4s|%q|%v|%x|%05d" 42 "ab" "c" "q\\"" true "hi" 7 }}',
    '42|   ab|c   |"q\\""|true|6869|00007',
  ],
  [
    'printf missing and extra args like Go',
    '{{ printf "%s %s" "a" }}|{{ printf "%s" "a" "b" }}',
    'a %!s(MISSING)|a%!(EXTRA string=b)',
  ],
  ['and / or return the deciding value', '{{ and .user "" }}|{{ or "" .user }}', '|admin'],
  ['len counts bytes', '{{ len "héllo" }}', '6'],
  [
    'contains, hasPrefix, replace, trimPrefix',
    '{{ contains "dm" .user }} {{ hasPrefix "ad" .user }} {{ replace "a" "A" .user }} {{ trimPrefix "ad" .user }}',
    'true true Admin min',
  ],
  ['join, splitList, list', '{{ join "," (list "a" "b") }} {{ splitList ":" "x:y" }}', 'a,b [x y]'],
  ['dict and get', '{{ $d := dict "k" "v" }}{{ get $d "k" }}{{ hasKey $d "z" }}', 'vfalse'],
  ['indent and nindent', '{{ indent 2 "a\\nb" }}|{{ nindent 2 "c" }}', '  a\n  b|\n  c'],
  ['sha256sum', '{{ sha256sum "abc" }}', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  [
    'filterPEM keeps blocks of one type',
    '{{ filterPEM "CERTIFICATE" .pem }}',
    '-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n',
  ],
  ['raw strings and numbers', '{{ `raw\\n` }}{{ 0x10 }} {{ 1.5 }} {{ 1e6 }}', 'raw\\n16 1.5 1e+06'],
  ['ternary and empty', '{{ ternary "y" "n" (empty "") }}', 'y'],
];

describe('Go template interpreter (ESO engine v2 semantics)', () => {
  it.each(table)('%s', (_name, template, expected) => {
    expect(renderTemplate(template, data)).toBe(expected);
  });

  it.each([
    ['a missing key', '{{ .nope }}', 'map has no entry for key "nope"'],
    ['a field of a string', '{{ .user.x }}', "can't evaluate field x in type string"],
    ['an unknown function', '{{ env "HOME" }}', 'function "env" not defined'],
    ['bad base64', '{{ .user | b64dec }}', 'error calling b64dec'],
    ['an unclosed action', '{{ .user', 'unclosed action'],
    ['if without end', '{{ if .user }}x', 'if without end'],
    ['define blocks', '{{ define "x" }}{{ end }}', '"define" is not supported'],
  ])('fails on %s', (_name, template, message) => {
    expect(() => renderTemplate(template, data)).toThrow(message);
  });

  it('toYaml quotes and indents as go-yaml v2 (sigs.k8s.io/yaml) does', () => {
    // given
    const input = stringMap({
      doc: JSON.stringify({
        b: [1, 'two', { x: 'y', a: [] }],
        a: {
          s: 'true',
          n: '123',
          e: '',
          c: 'a: b',
          m: 'line1\nline2\n',
          h: '#x',
          ok: 'plain text',
          d: '2024-01-01',
          f: 1.5,
          z: null,
        },
      }),
    });
    // when
    const out = renderTemplate('{{ .doc | fromJson | toYaml }}', input);
    // then
    expect(out).toBe(
      [
        'a:',
        "  c: 'a: b'",
        '  d: "2024-01-01"',
        '  e: ""',
        '  f: 1.5',
        "  h: '#x'",
        '  m: |',
        '    line1',
        '    line2',
        '  "n": "123"',
        '  ok: plain text',
        '  s: "true"',
        '  z: null',
        'b:',
        '- 1',
        '- two',
        '- a: []',
        '  x: "y"',
      ].join('\n'),
    );
  });

  it('stops runaway templates', () => {
    expect(() => renderTemplate('{{ range 100000000 }}x{{ end }}', data)).toThrow(/budget|too large/);
  });

  it('refuses regex constructs it cannot translate faithfully, without echoing the pattern', () => {
    const secret = 'canary-regex-5f2e';
    for (const pattern of [`${secret}(?i:x)`, `(?U)${secret}`, `[\\S]${secret}`]) {
      const run = () => renderTemplate(`{{ regexMatch ${JSON.stringify(pattern)} "x" }}`, data);
      expect(run).toThrow(/regular expression not supported/);
      expect(run).not.toThrow(new RegExp(secret));
    }
    // Go rejects lookarounds: regexMatch is false, the must variant fails.
    expect(renderTemplate('{{ regexMatch "a(?=b)" "ab" }}', data)).toBe('false');
    expect(() => renderTemplate('{{ mustRegexMatch "a(?=b)" "ab" }}', data)).toThrow(/error parsing regexp/);
  });

  it('stops functions that would build huge lists or strings, with a clear error', () => {
    for (const template of [
      '{{ until 100000000 }}',
      '{{ untilStep 0 100000000 1 }}',
      '{{ seq 100000000 }}',
      '{{ repeat 100000000 "x" }}',
      '{{ range until 900000 }}{{ . }}{{ end }}',
    ])
      expect(() => renderTemplate(template, data)).toThrow(/template limit|budget|too large/);
    expect(renderTemplate('{{ until 3 }}', data)).toBe('[0 1 2]');
  });
});

const CANARY = 'canary-value-93b1';

function aBinding(
  template: Partial<NonNullable<BindingSpec['target']['template']>> = {},
  extra: Record<string, unknown> = {},
): BindingSpec {
  return bindingSchema.parse({
    name: 'payments-db',
    source: 'aws-main',
    remoteRef: { key: 'prod/db' },
    data: [
      { secretKey: 'username', property: 'username' },
      { secretKey: 'password', property: 'password' },
    ],
    target: { name: 'db', namespace: 'payments', clusters: { matchLabels: {} }, template },
    ...extra,
  });
}

const values = (json: unknown): FetchedValues =>
  new Map([['prod/db', { versionId: 'v1', bytes: new TextEncoder().encode(JSON.stringify(json)) }]]);
const text = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : new TextDecoder().decode(bytes);

describe('renderSecret', () => {
  it('renders template data, type and metadata with the fetched data as strings', () => {
    // given
    const binding = aBinding({
      type: 'kubernetes.io/basic-auth',
      metadata: { labels: { user: '{{ .username }}' }, annotations: { a: 'x' } },
      data: { url: 'postgres://{{ .username }}:{{ .password }}@db' },
    });
    // when
    const secret = renderSecret(binding, values({ username: 'app', password: CANARY }));
    // then
    expect(secret.type).toBe('kubernetes.io/basic-auth');
    expect(Object.keys(secret.data)).toEqual(['url']);
    expect(text(secret.data['url'])).toBe(`postgres://app:${CANARY}@db`);
    expect(secret.labels).toEqual({ user: 'app' });
    expect(secret.annotations).toEqual({ a: 'x' });
  });

  it('keeps the fetched keys under the templated ones with mergePolicy Merge', () => {
    const secret = renderSecret(
      aBinding({ mergePolicy: 'Merge', data: { password: '{{ .password | upper }}' } }),
      values({ username: 'app', password: 'pw' }),
    );
    expect(Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, text(v)]))).toEqual({
      username: 'app',
      password: 'PW',
    });
  });

  it('uses the fetched data when the template has no data', () => {
    const secret = renderSecret(aBinding({ type: 'Opaque' }), values({ username: 'app', password: 'pw' }));
    expect(Object.keys(secret.data).sort()).toEqual(['password', 'username']);
  });

  it('refuses a missing key with a RenderError naming binding, template key and key, never the value', () => {
    // given
    const binding = aBinding({ data: { dsn: '{{ .password }}{{ .hostname }}' } });
    // when
    const error = (() => {
      try {
        renderSecret(binding, values({ username: 'app', password: CANARY }));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    // then
    expect(error).toBeInstanceOf(RenderError);
    expect((error as Error).message).toBe(
      'binding "payments-db": template key "dsn": map has no entry for key "hostname"',
    );
    expect((error as Error).message).not.toContain(CANARY);
  });

  it('refuses an unknown function before rendering anything', () => {
    expect(() =>
      renderSecret(
        aBinding({ data: { x: '{{ .password | pkcs12cert }}' } }),
        values({ username: 'a', password: CANARY }),
      ),
    ).toThrow(
      new RenderError('binding "payments-db": template key "x": function "pkcs12cert" is not supported'),
    );
  });

  it('reads nested properties, prefers a literal dotted key, and reports a missing property by name', () => {
    // given
    const binding = bindingSchema.parse({
      name: 'b',
      source: 's',
      remoteRef: { key: 'prod/db' },
      data: [
        { secretKey: 'host', property: 'db.host' },
        { secretKey: 'literal', property: 'a.b' },
        { secretKey: 'second', property: 'list.1' },
      ],
      target: { name: 'x', namespace: 'n', clusters: { names: ['c'] } },
    });
    // when
    const secret = renderSecret(
      binding,
      values({ db: { host: 'h' }, 'a.b': 'dotted', a: { b: 'nested' }, list: ['x', 'y'] }),
    );
    // then
    expect([text(secret.data['host']), text(secret.data['literal']), text(secret.data['second'])]).toEqual([
      'h',
      'dotted',
      'y',
    ]);
    expect(() => renderSecret(aBinding(), values({ username: CANARY }))).toThrow(
      'binding "payments-db": property "password" not found in secret "prod/db"',
    );
  });

  it.each([
    ['Base64', 'aGk/Pz8=', 'hi???'],
    ['Base64URL', 'aGk_Pz8=', 'hi???'],
    ['Auto', 'aGk_Pz8=', 'hi???'],
    ['Auto', 'not base64!', 'not base64!'],
    ['None', 'aGk=', 'aGk='],
  ] as const)('decodes with decodingStrategy %s', (strategy, stored, expected) => {
    const binding = bindingSchema.parse({
      name: 'b',
      source: 's',
      data: [{ secretKey: 'v', remoteRef: { key: 'k', decodingStrategy: strategy } }],
      target: { name: 'x', namespace: 'n', clusters: { names: ['c'] } },
    });
    const secret = renderSecret(
      binding,
      new Map([['k', { versionId: '1', bytes: new TextEncoder().encode(stored) }]]),
    );
    expect(text(secret.data['v'])).toBe(expected);
  });

  it('refuses a value that is not base64 under decodingStrategy Base64 without echoing it', () => {
    const binding = bindingSchema.parse({
      name: 'b',
      source: 's',
      data: [{ secretKey: 'v', remoteRef: { key: 'k', decodingStrategy: 'Base64' } }],
      target: { name: 'x', namespace: 'n', clusters: { names: ['c'] } },
    });
    expect(() =>
      renderSecret(binding, new Map([['k', { versionId: '1', bytes: new TextEncoder().encode(CANARY) }]])),
    ).toThrow('binding "b": key "v": value is not valid Base64 (decodingStrategy)');
  });

  it('extracts a JSON object with nested values as raw JSON text, and data entries win', () => {
    const binding = bindingSchema.parse({
      name: 'b',
      source: 's',
      dataFrom: [{ extract: { key: 'k' } }],
      data: [{ secretKey: 'n', remoteRef: { key: 'k', property: 'o.x' } }],
      target: { name: 'x', namespace: 'n', clusters: { names: ['c'] } },
    });
    const secret = renderSecret(
      binding,
      new Map([
        [
          'k',
          { versionId: '1', bytes: new TextEncoder().encode('{"s":"str","n":1.50,"o":{ "x": 2 },"z":null}') },
        ],
      ]),
    );
    expect(Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, text(v)]))).toEqual({
      s: 'str',
      n: '2',
      o: '{ "x": 2 }',
      z: '',
    });
  });
});
