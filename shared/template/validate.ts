import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { parseDuration } from '../core/duration.js';
import { ValidationGateError } from '../core/errors.js';
import type { BindingSpec } from '../registry/schema.js';
import type { RenderedSecret } from './index.js';
import { assertSshPrivateKey } from './ssh-key.js';

/**
 * Validation gates run on the rendered Secret before anything is written anywhere.
 * Each throws `ValidationGateError` naming the binding, the key and the reason, never
 * the value (nor a fragment of it: parse errors from crypto libraries are not echoed).
 */

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Keys each well-known Secret type requires (as the API server checks them). */
export const requiredKeysByType: Readonly<Record<string, { all?: string[]; anyOf?: string[] }>> = {
  'kubernetes.io/tls': { all: ['tls.crt', 'tls.key'] },
  'kubernetes.io/dockerconfigjson': { all: ['.dockerconfigjson'] },
  'kubernetes.io/dockercfg': { all: ['.dockercfg'] },
  'kubernetes.io/basic-auth': { anyOf: ['username', 'password'] },
  'kubernetes.io/ssh-auth': { all: ['ssh-privatekey'] },
};

function refuse(binding: BindingSpec, reason: string): never {
  throw new ValidationGateError(`binding "${binding.name}": ${reason}`);
}

function text(secret: RenderedSecret, key: string): string | undefined {
  const bytes = secret.data[key];
  return bytes === undefined ? undefined : utf8.decode(bytes);
}

/** Splits a PEM bundle into its certificates; the first is the leaf. */
function certificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

function checkTls(binding: BindingSpec, secret: RenderedSecret, now: Date): void {
  const options = binding.validate?.tls;
  const certKey = options?.certKey ?? 'tls.crt';
  const keyKey = options?.keyKey ?? 'tls.key';
  const certPem = text(secret, certKey);
  const keyPem = text(secret, keyKey);
  if (certPem === undefined || certPem.trim() === '')
    refuse(binding, `tls gate: key "${certKey}" is missing or empty`);
  if (keyPem === undefined || keyPem.trim() === '')
    refuse(binding, `tls gate: key "${keyKey}" is missing or empty`);
  let leaf: X509Certificate | undefined;
  try {
    leaf = certificates(certPem)[0];
  } catch {
    refuse(binding, `tls gate: "${certKey}" does not hold a parseable PEM certificate`);
  }
  if (leaf === undefined) refuse(binding, `tls gate: "${certKey}" does not hold a PEM certificate`);
  let matches: boolean;
  try {
    const privateKey = createPrivateKey(keyPem);
    matches = leaf.checkPrivateKey(privateKey) || createPublicKey(privateKey).equals(leaf.publicKey);
  } catch {
    refuse(binding, `tls gate: "${keyKey}" does not hold a parseable PEM private key`);
  }
  if (!matches)
    refuse(
      binding,
      `tls gate: the private key in "${keyKey}" does not match the certificate in "${certKey}"`,
    );
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (now < notBefore)
    refuse(
      binding,
      `tls gate: the certificate in "${certKey}" is not valid before ${notBefore.toISOString()}`,
    );
  if (now >= notAfter)
    refuse(binding, `tls gate: the certificate in "${certKey}" expired at ${notAfter.toISOString()}`);
  const minValidity = options?.minValidity;
  if (
    minValidity !== undefined &&
    notAfter.getTime() - now.getTime() <
      parseDuration(minValidity, `binding "${binding.name}": validate minValidity`)
  ) {
    refuse(
      binding,
      `tls gate: the certificate in "${certKey}" expires at ${notAfter.toISOString()}, within minValidity ${minValidity}`,
    );
  }
}

function checkDockerConfig(binding: BindingSpec, secret: RenderedSecret): void {
  const key = secret.type === 'kubernetes.io/dockercfg' ? '.dockercfg' : '.dockerconfigjson';
  const raw = text(secret, key);
  if (raw === undefined) refuse(binding, `dockerconfigjson gate: key "${key}" is missing`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    refuse(binding, `dockerconfigjson gate: "${key}" is not valid JSON`);
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(parsed)) refuse(binding, `dockerconfigjson gate: "${key}" is not a JSON object`);
  const auths = key === '.dockercfg' ? parsed : parsed['auths'];
  if (!isObject(auths)) refuse(binding, `dockerconfigjson gate: "${key}" has no "auths" object`);
  for (const [registry, entry] of Object.entries(auths)) {
    if (!isObject(entry))
      refuse(binding, `dockerconfigjson gate: auths entry "${registry}" is not an object`);
    const auth = entry['auth'];
    if (auth !== undefined) {
      const decoded =
        typeof auth === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(auth) && auth.length % 4 === 0
          ? Buffer.from(auth, 'base64').toString('utf8')
          : undefined;
      if (decoded === undefined || !decoded.includes(':'))
        refuse(
          binding,
          `dockerconfigjson gate: auths entry "${registry}" has an "auth" that is not base64 of "user:password"`,
        );
    } else if (
      entry['username'] === undefined &&
      entry['identitytoken'] === undefined &&
      entry['registrytoken'] === undefined
    ) {
      refuse(binding, `dockerconfigjson gate: auths entry "${registry}" has no auth, username or token`);
    }
  }
}

function checkSsh(binding: BindingSpec, secret: RenderedSecret): void {
  const raw = secret.data['ssh-privatekey'];
  if (raw === undefined) refuse(binding, 'ssh gate: key "ssh-privatekey" is missing');
  try {
    assertSshPrivateKey(utf8.decode(raw));
  } catch {
    refuse(binding, 'ssh gate: "ssh-privatekey" does not hold a parseable SSH private key');
  }
}

export function validateSecret(binding: BindingSpec, secret: RenderedSecret, now: Date): void {
  const required = requiredKeysByType[secret.type];
  if (required !== undefined) {
    for (const key of required.all ?? []) {
      if (secret.data[key] === undefined) refuse(binding, `Secret type ${secret.type} requires key "${key}"`);
    }
    if (required.anyOf !== undefined && !required.anyOf.some((key) => secret.data[key] !== undefined)) {
      refuse(
        binding,
        `Secret type ${secret.type} requires at least one of ${required.anyOf.map((k) => `"${k}"`).join(', ')}`,
      );
    }
  }
  for (const key of binding.validate?.requiredKeys ?? []) {
    const value = secret.data[key];
    if (value === undefined || value.length === 0)
      refuse(binding, `required key "${key}" is missing or empty`);
  }
  if (binding.validate?.tls !== undefined || secret.type === 'kubernetes.io/tls')
    checkTls(binding, secret, now);
  if (
    binding.validate?.dockerconfigjson === true ||
    secret.type === 'kubernetes.io/dockerconfigjson' ||
    secret.type === 'kubernetes.io/dockercfg'
  ) {
    checkDockerConfig(binding, secret);
  }
  if (binding.validate?.ssh === true || secret.type === 'kubernetes.io/ssh-auth') checkSsh(binding, secret);
}

/** A certificate found in a rendered Secret that expires within the window. No values. */
export interface ExpiringCertificate {
  key: string;
  subject: string;
  notAfter: Date;
  /** True when it has already expired. */
  expired: boolean;
}

/**
 * Pure helper for the scheduled expiry check: every PEM certificate (leaf and chain)
 * in the Secret's data whose notAfter falls before `now + window`.
 * @param window milliseconds, or a duration such as `30d`.
 */
export function certificatesExpiringWithin(
  secret: RenderedSecret,
  window: number | string,
  now: Date,
): ExpiringCertificate[] {
  const windowMs = typeof window === 'number' ? window : parseDuration(window);
  const found: ExpiringCertificate[] = [];
  for (const key of Object.keys(secret.data).sort()) {
    const value = text(secret, key);
    if (value === undefined || !value.includes('-----BEGIN CERTIFICATE-----')) continue;
    let certs: X509Certificate[];
    try {
      certs = certificates(value);
    } catch {
      continue;
    }
    for (const cert of certs) {
      const notAfter = new Date(cert.validTo);
      if (notAfter.getTime() - now.getTime() < windowMs) {
        found.push({ key, subject: cert.subject.replace(/\n/g, ', '), notAfter, expired: notAfter <= now });
      }
    }
  }
  return found;
}
