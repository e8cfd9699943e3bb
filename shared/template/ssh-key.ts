import { createPrivateKey } from 'node:crypto';

/**
 * Checks that text holds an unencrypted SSH private key a client can load: PEM (PKCS#1,
 * PKCS#8, SEC1) through node:crypto, or the OpenSSH "openssh-key-v1" envelope
 * (PROTOCOL.key in OpenSSH's source) read structurally. Throws a bare Error with no part
 * of the key in it; the caller turns it into a gate refusal.
 *
 * Hand-written on purpose: sshpk did this with its dependencies at about 190 KB of every
 * function bundle (a third of the 1 MB budget), for one structural check. The tests keep
 * sshpk as the reference that produces the keys.
 */
export function assertSshPrivateKey(text: string): void {
  const openssh = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text);
  if (openssh === null) {
    createPrivateKey({ key: text, format: 'pem' }); // throws for anything else, or an encrypted PEM
    return;
  }
  const body = Buffer.from((openssh[1] ?? '').replace(/\s+/g, ''), 'base64');
  const reader = new Reader(body);
  const magic = 'openssh-key-v1\0';
  if (body.subarray(0, magic.length).toString('latin1') !== magic)
    throw new Error('not an openssh-key-v1 envelope');
  reader.skip(magic.length);
  const cipher = reader.string().toString('latin1');
  reader.string(); // kdf name
  reader.string(); // kdf options
  if (cipher !== 'none') throw new Error('encrypted key');
  const count = reader.uint32();
  if (count < 1 || count > 16) throw new Error('bad key count');
  const publicTypes: string[] = [];
  for (let i = 0; i < count; i++) publicTypes.push(new Reader(reader.string()).string().toString('latin1'));
  const secret = new Reader(reader.string());
  // Two equal random check words: how OpenSSH itself tells a good decryption (or a good copy).
  if (secret.uint32() !== secret.uint32()) throw new Error('check words differ');
  for (const type of publicTypes) {
    const privateType = secret.string().toString('latin1');
    if (privateType !== type || !KEY_TYPES.has(type)) throw new Error('key type mismatch');
    for (let field = 0; field < (PRIVATE_FIELDS[type] ?? 0); field++) {
      if (secret.string().length === 0) throw new Error('empty key field');
    }
    secret.string(); // comment
  }
}

/** Private-section fields per key type, before the comment. */
const PRIVATE_FIELDS: Record<string, number> = {
  'ssh-ed25519': 2, // public, private+public
  'ssh-rsa': 6, // n, e, d, iqmp, p, q
  'ecdsa-sha2-nistp256': 3, // curve, public point, private scalar
  'ecdsa-sha2-nistp384': 3,
  'ecdsa-sha2-nistp521': 3,
  'ssh-dss': 5, // p, q, g, y, x
};
const KEY_TYPES = new Set(Object.keys(PRIVATE_FIELDS));

/** SSH wire-format reader (RFC 4251 section 5): uint32 and length-prefixed strings. */
class Reader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}

  skip(n: number): void {
    this.need(n);
    this.offset += n;
  }

  uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  string(): Buffer {
    const length = this.uint32();
    this.need(length);
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  private need(n: number): void {
    if (this.offset + n > this.buffer.length) throw new Error('truncated');
  }
}
