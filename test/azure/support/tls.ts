import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

/** A throwaway CA and a server certificate for 127.0.0.1 / localhost, signed by it. */
export interface LocalTls {
  /** PEM of the CA (what clients trust). */
  caPem: string;
  certPem: string;
  keyPem: string;
}

function forgeKeys(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey } {
  // node:crypto generates the key fast; forge only signs.
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const key = forge.pki.privateKeyFromPem(privateKey);
  return { privateKey: key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e) };
}

function serial(): string {
  // Positive serial number (leading nibble < 8).
  return `0${randomBytes(15).toString('hex')}`;
}

let shared: LocalTls | undefined;

/**
 * One CA and 127.0.0.1 certificate per test process: RSA key generation is the slowest part of
 * starting a local server on a busy 2-core machine, and every local server may share it.
 */
export function createLocalTls(): LocalTls {
  shared ??= generateLocalTls('local-azure-test-server');
  return shared;
}

/** Creates a CA and a 127.0.0.1 server certificate valid for one day. */
export function generateLocalTls(commonName: string): LocalTls {
  const now = new Date();
  const tomorrow = new Date(now.getTime() + 24 * 3600 * 1000);
  const yesterday = new Date(now.getTime() - 3600 * 1000);

  const caKeys = forgeKeys();
  const ca = forge.pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = serial();
  ca.validity.notBefore = yesterday;
  ca.validity.notAfter = tomorrow;
  const caName = [{ name: 'commonName', value: `${commonName} CA` }];
  ca.setSubject(caName);
  ca.setIssuer(caName);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const keys = forgeKeys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = yesterday;
  cert.validity.notAfter = tomorrow;
  cert.setSubject([{ name: 'commonName', value: commonName }]);
  cert.setIssuer(caName);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 7, ip: '127.0.0.1' },
        { type: 2, value: 'localhost' },
      ],
    },
  ]);
  cert.sign(caKeys.privateKey, forge.md.sha256.create());

  return {
    caPem: forge.pki.certificateToPem(ca),
    certPem: forge.pki.certificateToPem(cert),
    keyPem: forge.pki.privateKeyToPem(keys.privateKey),
  };
}
