import { ValidationGateError } from '../../shared/core/errors.js';
import { bindingSchema, type BindingSpec } from '../../shared/registry/schema.js';
import {
  certificatesExpiringWithin,
  parseDuration,
  validateSecret,
  type RenderedSecret,
} from '../../shared/template/index.js';
import { makeCert, makeChain, makeSshKey } from './certs.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const DAY = 86_400_000;
const enc = (text: string) => new TextEncoder().encode(text);

function aBinding(validate?: BindingSpec['validate']): BindingSpec {
  return bindingSchema.parse({
    name: 'web-tls',
    source: 'vault',
    remoteRef: { key: 'web' },
    target: { name: 'web-tls', namespace: 'web', clusters: { matchLabels: {} } },
    ...(validate === undefined ? {} : { validate }),
  });
}

function aSecret(type: string, data: Record<string, string>): RenderedSecret {
  return {
    type,
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, enc(v)])),
    labels: {},
    annotations: {},
  };
}

/** Every 12-character window of the PEM bodies: no part of a value may appear in a message. */
function fragments(...pems: string[]): string[] {
  const bodies = pems.map((p) => p.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''));
  return bodies.flatMap((b) =>
    Array.from({ length: Math.floor(b.length / 12) }, (_, i) => b.slice(i * 12, i * 12 + 12)),
  );
}

function refusal(binding: BindingSpec, secret: RenderedSecret, now = NOW): ValidationGateError {
  try {
    validateSecret(binding, secret, now);
  } catch (error) {
    if (error instanceof ValidationGateError) return error;
    throw error;
  }
  throw new Error('expected the gate to refuse');
}

describe('validateSecret: tls gate', () => {
  const { ca, leaf } = makeChain(NOW, 90);
  const soon = makeCert({
    cn: 'soon.example',
    notBefore: new Date(NOW.getTime() - DAY),
    notAfter: new Date(NOW.getTime() + 12 * 3_600_000),
    issuer: ca,
  });
  const expired = makeCert({
    cn: 'old.example',
    notBefore: new Date(NOW.getTime() - 10 * DAY),
    notAfter: new Date(NOW.getTime() - DAY),
    issuer: ca,
  });

  it('accepts a valid certificate chain with its key', () => {
    expect(() =>
      validateSecret(
        aBinding({ tls: { minValidity: '24h' } }),
        aSecret('kubernetes.io/tls', { 'tls.crt': leaf.cert + ca.cert, 'tls.key': leaf.key }),
        NOW,
      ),
    ).not.toThrow();
  });

  it('refuses a certificate that expires within minValidity, naming binding and reason but no part of the value', () => {
    // given
    const secret = aSecret('kubernetes.io/tls', { 'tls.crt': soon.cert, 'tls.key': soon.key });
    // when
    const error = refusal(aBinding({ tls: { minValidity: '24h' } }), secret);
    // then
    expect(error.message).toBe(
      `binding "web-tls": tls gate: the certificate in "tls.crt" expires at ${new Date(NOW.getTime() + 12 * 3_600_000).toISOString()}, within minValidity 24h`,
    );
    for (const fragment of fragments(soon.cert, soon.key)) expect(error.message).not.toContain(fragment);
  });

  it('refuses an expired certificate even without validate.tls, for a kubernetes.io/tls Secret', () => {
    const error = refusal(
      aBinding(),
      aSecret('kubernetes.io/tls', { 'tls.crt': expired.cert, 'tls.key': expired.key }),
    );
    expect(error.message).toContain('expired at');
  });

  it('refuses a key that does not match the certificate', () => {
    const error = refusal(
      aBinding(),
      aSecret('kubernetes.io/tls', { 'tls.crt': leaf.cert, 'tls.key': soon.key }),
    );
    expect(error.message).toBe(
      'binding "web-tls": tls gate: the private key in "tls.key" does not match the certificate in "tls.crt"',
    );
  });

  it('refuses a certificate that does not parse without echoing it', () => {
    const garbage =
      '-----BEGIN CERTIFICATE-----\nY2FuYXJ5LXZhbHVlLXNob3VsZC1uZXZlci1sZWFr\n-----END CERTIFICATE-----\n';
    const error = refusal(
      aBinding(),
      aSecret('kubernetes.io/tls', { 'tls.crt': garbage, 'tls.key': leaf.key }),
    );
    expect(error.message).toBe(
      'binding "web-tls": tls gate: "tls.crt" does not hold a parseable PEM certificate',
    );
  });

  it('uses certKey / keyKey for Opaque Secrets', () => {
    const binding = aBinding({ tls: { certKey: 'cert.pem', keyKey: 'key.pem', minValidity: '30d' } });
    expect(() =>
      validateSecret(binding, aSecret('Opaque', { 'cert.pem': leaf.cert, 'key.pem': leaf.key }), NOW),
    ).not.toThrow();
    expect(
      refusal(binding, aSecret('Opaque', { 'cert.pem': soon.cert, 'key.pem': soon.key })).message,
    ).toContain('within minValidity 30d');
  });
});

describe('validateSecret: secret types and other gates', () => {
  it.each([
    ['kubernetes.io/tls', { 'tls.crt': 'x' }, 'Secret type kubernetes.io/tls requires key "tls.key"'],
    [
      'kubernetes.io/dockerconfigjson',
      { config: '{}' },
      'Secret type kubernetes.io/dockerconfigjson requires key ".dockerconfigjson"',
    ],
    [
      'kubernetes.io/basic-auth',
      { user: 'x' },
      'Secret type kubernetes.io/basic-auth requires at least one of "username", "password"',
    ],
    [
      'kubernetes.io/ssh-auth',
      { key: 'x' },
      'Secret type kubernetes.io/ssh-auth requires key "ssh-privatekey"',
    ],
  ])('refuses a %s Secret without its required keys', (type, data, message) => {
    expect(refusal(aBinding(), aSecret(type, data)).message).toBe(`binding "web-tls": ${message}`);
  });

  it('accepts basic-auth with only a password, and Opaque with anything', () => {
    expect(() =>
      validateSecret(aBinding(), aSecret('kubernetes.io/basic-auth', { password: 'p' }), NOW),
    ).not.toThrow();
    expect(() => validateSecret(aBinding(), aSecret('Opaque', {}), NOW)).not.toThrow();
  });

  it.each([
    ['{"auths":{"ghcr.io":{"auth":"cm9ib3Q6cHc="}}}', undefined],
    ['{"auths":{"ghcr.io":{"username":"u","password":"p"}}}', undefined],
    ['not json canary-xyz', '".dockerconfigjson" is not valid JSON'],
    ['{"registry":"x"}', 'has no "auths" object'],
    [
      '{"auths":{"ghcr.io":{"auth":"bm9jb2xvbg=="}}}',
      'auths entry "ghcr.io" has an "auth" that is not base64 of "user:password"',
    ],
  ])('checks dockerconfigjson structure: %s', (config, problem) => {
    const secret = aSecret('kubernetes.io/dockerconfigjson', { '.dockerconfigjson': config });
    if (problem === undefined) expect(() => validateSecret(aBinding(), secret, NOW)).not.toThrow();
    else {
      const error = refusal(aBinding(), secret);
      expect(error.message).toContain(problem);
      expect(error.message).not.toContain('canary');
    }
  });

  it('accepts an OpenSSH private key and refuses one that does not parse', () => {
    expect(() =>
      validateSecret(aBinding(), aSecret('kubernetes.io/ssh-auth', { 'ssh-privatekey': makeSshKey() }), NOW),
    ).not.toThrow();
    const error = refusal(
      aBinding({ ssh: true }),
      aSecret('Opaque', {
        'ssh-privatekey': '-----BEGIN OPENSSH PRIVATE KEY-----\ncanary\n-----END OPENSSH PRIVATE KEY-----\n',
      }),
    );
    expect(error.message).toBe(
      'binding "web-tls": ssh gate: "ssh-privatekey" does not hold a parseable SSH private key',
    );
  });

  it('refuses when a required key is missing or empty', () => {
    const binding = aBinding({ requiredKeys: ['username', 'password'] });
    expect(refusal(binding, aSecret('Opaque', { username: 'u', password: '' })).message).toBe(
      'binding "web-tls": required key "password" is missing or empty',
    );
    expect(() =>
      validateSecret(binding, aSecret('Opaque', { username: 'u', password: 'p' }), NOW),
    ).not.toThrow();
  });
});

describe('certificatesExpiringWithin', () => {
  it('lists every certificate expiring within the window, leaf and chain, without values', () => {
    // given
    const { ca, leaf } = makeChain(NOW, 10);
    const secret = aSecret('kubernetes.io/tls', {
      'tls.crt': leaf.cert + ca.cert,
      'tls.key': leaf.key,
      other: 'plain',
    });
    // when
    const within30d = certificatesExpiringWithin(secret, '30d', NOW);
    const within400d = certificatesExpiringWithin(secret, 400 * DAY, NOW);
    const within1d = certificatesExpiringWithin(secret, '1d', NOW);
    // then
    expect(within30d).toEqual([
      {
        key: 'tls.crt',
        subject: 'CN=web.example',
        notAfter: new Date(NOW.getTime() + 10 * DAY),
        expired: false,
      },
    ]);
    expect(within400d.map((c) => c.subject)).toEqual(['CN=web.example', 'CN=Test CA']);
    expect(within1d).toEqual([]);
  });

  it('parses Go-style durations', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('7d')).toBe(7 * DAY);
    expect(() => parseDuration('7 days')).toThrow();
  });
});
