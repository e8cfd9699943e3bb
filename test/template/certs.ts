import { constants, generateKeyPairSync, privateEncrypt } from 'node:crypto';
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

// PKCS#1 v1.5 signing through node:crypto (forge's pure-JS RSA is slow on a busy
// machine): forge hashes the TBS certificate, OpenSSL signs the DigestInfo.
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');
function nativeSigner(pem: string): forge.pki.rsa.PrivateKey {
  const sign = (md: forge.md.MessageDigest) => {
    const digest = Buffer.from(md.digest().getBytes(), 'binary');
    return privateEncrypt(
      { key: pem, padding: constants.RSA_PKCS1_PADDING },
      Buffer.concat([SHA256_DIGEST_INFO, digest]),
    ).toString('binary');
  };
  return { sign } as unknown as forge.pki.rsa.PrivateKey;
}

export function makeCert(options: {
  cn: string;
  notBefore: Date;
  notAfter: Date;
  issuer?: TestCert & { pem?: string };
  ca?: boolean;
  ip?: string;
}): TestCert & { pem: string } {
  const key = rsaKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = key.publicKey;
  cert.serialNumber = String(10 + Math.floor(Math.random() * 1e6));
  cert.validity.notBefore = options.notBefore;
  cert.validity.notAfter = options.notAfter;
  const subject = [{ name: 'commonName', value: options.cn }];
  cert.setSubject(subject);
  const issuer = options.issuer;
  cert.setIssuer(
    issuer === undefined ? subject : forge.pki.certificateFromPem(issuer.cert).subject.attributes,
  );
  cert.setExtensions(
    options.ca === true
      ? [{ name: 'basicConstraints', cA: true }]
      : [
          {
            name: 'subjectAltName',
            altNames:
              options.ip === undefined ? [{ type: 2, value: options.cn }] : [{ type: 7, ip: options.ip }],
          },
        ],
  );
  cert.sign(nativeSigner(issuer?.pem ?? key.pem), forge.md.sha256.create());
  return { cert: lf(forge.pki.certificateToPem(cert)), key: key.pem, pem: key.pem };
}

const DAY = 86_400_000;

/** A CA and a leaf valid from yesterday for `days` days. */
export function makeChain(now: Date, days = 90): { ca: TestCert; leaf: TestCert } {
  const ca = makeCert({
    cn: 'Test CA',
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + 365 * DAY),
    ca: true,
  });
  const leaf = makeCert({
    cn: 'web.example',
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + days * DAY),
    issuer: ca,
  });
  return { ca, leaf };
}

/** An ed25519 key in OpenSSH format, as `ssh-keygen` writes it. */
export function makeSshKey(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return sshpk.parsePrivateKey(pem, 'pem').toString('ssh');
}
