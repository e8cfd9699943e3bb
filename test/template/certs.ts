import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import sshpk from 'sshpk';

/** Test certificates: a CA and leaves signed by it, made with node-forge over node:crypto keys (fast). */
export interface TestCert {
  cert: string;
  key: string;
}

type RsaKey = { forgeKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pem: string };

// RSA key generation is the slow part on a busy machine: certificates take keys
// round-robin from a small pool (distinct keys for CA, leaf and a mismatching leaf).
const POOL_SIZE = 3;
const pool: RsaKey[] = [];
let next = 0;

function rsaKey(): RsaKey {
  if (pool.length < POOL_SIZE) {
    const key = newRsaKey();
    pool.push(key);
    return key;
  }
  const key = pool[next % POOL_SIZE] as RsaKey;
  next++;
  return key;
}

function newRsaKey(): RsaKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(pem);
  return { forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), pem };
}

const lf = (pem: string) => pem.replace(/\r\n/g, '\n');

export function makeCert(options: { cn: string; notBefore: Date; notAfter: Date; issuer?: TestCert & { forgeKey?: forge.pki.rsa.PrivateKey }; ca?: boolean; ip?: string }): TestCert & { forgeKey: forge.pki.rsa.PrivateKey } {
  const key = rsaKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = key.publicKey;
  cert.serialNumber = String(10 + Math.floor(Math.random() * 1e6));
  cert.validity.notBefore = options.notBefore;
  cert.validity.notAfter = options.notAfter;
  const subject = [{ name: 'commonName', value: options.cn }];
  cert.setSubject(subject);
  const issuer = options.issuer;
  cert.setIssuer(issuer === undefined ? subject : forge.pki.certificateFromPem(issuer.cert).subject.attributes);
  cert.setExtensions(options.ca === true ? [{ name: 'basicConstraints', cA: true }] : [{ name: 'subjectAltName', altNames: options.ip === undefined ? [{ type: 2, value: options.cn }] : [{ type: 7, ip: options.ip }] }]);
  const signer = issuer?.forgeKey ?? key.forgeKey;
  cert.sign(signer, forge.md.sha256.create());
  return { cert: lf(forge.pki.certificateToPem(cert)), key: key.pem, forgeKey: key.forgeKey };
}

const DAY = 86_400_000;

/** A CA and a leaf valid from yesterday for `days` days. */
export function makeChain(now: Date, days = 90): { ca: TestCert; leaf: TestCert } {
  const ca = makeCert({ cn: 'Test CA', notBefore: new Date(now.getTime() - DAY), notAfter: new Date(now.getTime() + 365 * DAY), ca: true });
  const leaf = makeCert({ cn: 'web.example', notBefore: new Date(now.getTime() - DAY), notAfter: new Date(now.getTime() + days * DAY), issuer: ca });
  return { ca, leaf };
}

/** An ed25519 key in OpenSSH format, as `ssh-keygen` writes it. */
export function makeSshKey(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return sshpk.parsePrivateKey(pem, 'pem').toString('ssh');
}
