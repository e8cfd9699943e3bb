import { generateKeyPairSync, randomBytes, sign as nodeSign } from 'node:crypto';
import forge from 'node-forge';

/** A certificate authority and one server certificate it signed for 127.0.0.1 / localhost / ::1. */
export interface TlsMaterial {
  /** PEM of the CA certificate (what clients trust). */
  caPem: string;
  /** Base64 of `caPem`, the form kubeconfig `certificate-authority-data` and the registry's `caData` take. */
  caData: string;
  /** PEM of the server certificate (valid for every port on loopback). */
  certPem: string;
  /** PEM of the server private key. */
  keyPem: string;
}

/**
 * RSA keys come from node:crypto, and so do signatures: forge only assembles the X.509
 * structures. (forge's own big-number RSA takes seconds per signature inside jest's VM.)
 */
function rsaKeyPair(): { publicKey: forge.pki.rsa.PublicKey; privatePem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey),
    privatePem: privateKey,
  };
}

function serial(): string {
  // Positive, non-zero serial: clear the top bit.
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function validity(cert: forge.pki.Certificate): void {
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(now + 365 * 24 * 60 * 60 * 1000);
}

/**
 * Generates a fresh CA and a server certificate for loopback. Takes ~100 ms, so callers
 * normally use {@link sharedTls}; tests that need an unrelated CA (TLS verification
 * failures) call this directly.
 */
export function createTlsMaterial(commonName = 'secret-propagator local kube CA'): TlsMaterial {
  const caKeys = rsaKeyPair();
  const ca = forge.pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = serial();
  validity(ca);
  const caSubject = [{ name: 'commonName', value: commonName }];
  ca.setSubject(caSubject);
  ca.setIssuer(caSubject);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signCertificate(ca, caKeys.privatePem);

  const serverKeys = rsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = serverKeys.publicKey;
  cert.serialNumber = serial();
  validity(cert);
  cert.setSubject([{ name: 'commonName', value: 'kube-apiserver' }]);
  cert.setIssuer(caSubject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 7, ip: '127.0.0.1' },
        { type: 7, ip: '::1' },
        { type: 2, value: 'localhost' },
        { type: 2, value: 'kubernetes.default.svc' },
      ],
    },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  signCertificate(cert, caKeys.privatePem);

  const caPem = forge.pki.certificateToPem(ca);
  return {
    caPem,
    caData: Buffer.from(caPem).toString('base64'),
    certPem: forge.pki.certificateToPem(cert),
    keyPem: serverKeys.privatePem,
  };
}

/** What forge's `cert.sign` does, with the RSA signature computed natively. */
function signCertificate(cert: forge.pki.Certificate, privatePem: string): void {
  const algorithmOid = forge.pki.oids.sha256WithRSAEncryption ?? '1.2.840.113549.1.1.11';
  cert.signatureOid = algorithmOid;
  cert.siginfo.algorithmOid = algorithmOid;
  // getTBSCertificate exists in forge but is missing from its type definitions.
  const pki = forge.pki as typeof forge.pki & {
    getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1;
  };
  const tbs = pki.getTBSCertificate(cert);
  cert.tbsCertificate = tbs;
  const der = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
  cert.signature = nodeSign('sha256', der, privatePem).toString('binary');
}

let shared: TlsMaterial | undefined;

/** One CA and server certificate per process, shared by every virtual cluster (RSA generation is slow). */
export function sharedTls(): TlsMaterial {
  shared ??= createTlsMaterial();
  return shared;
}
