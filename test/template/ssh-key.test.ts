import { generateKeyPairSync } from 'node:crypto';
import sshpk from 'sshpk';
import { assertSshPrivateKey } from '../../shared/template/ssh-key.js';

// Keys are made by node:crypto and converted to the OpenSSH format by sshpk, the library
// the check replaced, so the two agree on what a parseable key is.

function openssh(type: 'ed25519' | 'rsa' | 'ec'): string {
  const { privateKey } =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : type === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return sshpk.parsePrivateKey(pem, 'pem').toString('ssh');
}

function pem(kind: 'pkcs1' | 'pkcs8' | 'sec1'): string {
  if (kind === 'sec1')
    return generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'sec1', format: 'pem' })
      .toString();
  return generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: kind, format: 'pem' })
    .toString();
}

/** Re-encodes an OpenSSH key after `mutate` changes its decoded envelope. */
function tampered(key: string, mutate: (body: Buffer) => Buffer): string {
  const body = Buffer.from(key.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${mutate(body).toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

describe('SSH private key check', () => {
  it.each([
    ['OpenSSH ed25519', () => openssh('ed25519')],
    ['OpenSSH RSA', () => openssh('rsa')],
    ['OpenSSH ECDSA P-256', () => openssh('ec')],
    ['PEM PKCS#1 RSA', () => pem('pkcs1')],
    ['PEM PKCS#8 RSA', () => pem('pkcs8')],
    ['PEM SEC1 EC', () => pem('sec1')],
  ])('accepts %s, as sshpk does', (_case, make) => {
    // given
    const key = make();
    // when / then
    expect(() => sshpk.parsePrivateKey(key, 'auto')).not.toThrow();
    expect(() => assertSshPrivateKey(key)).not.toThrow();
  });

  it.each<[string, () => string]>([
    ['a truncated OpenSSH key', () => tampered(openssh('ed25519'), (b) => b.subarray(0, b.length - 40))],
    [
      'a wrong magic',
      () =>
        tampered(openssh('ed25519'), (b) => Buffer.concat([Buffer.from('openssh-key-v2'), b.subarray(14)])),
    ],
    ['differing check words', () => tampered(openssh('ed25519'), (b) => flipCheckWord(b))],
    [
      'base64 noise in an OpenSSH frame',
      () => '-----BEGIN OPENSSH PRIVATE KEY-----\nY2FuYXJ5\n-----END OPENSSH PRIVATE KEY-----\n',
    ],
    ['a public key', () => sshpk.parsePrivateKey(openssh('ed25519'), 'ssh').toPublic().toString('ssh')],
    [
      'an encrypted PEM',
      () =>
        generateKeyPairSync('rsa', { modulusLength: 2048 })
          .privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' })
          .toString(),
    ],
    ['plain text', () => 'not a key at all'],
  ])('refuses %s', (_case, make) => {
    // given
    const key = make();
    // when / then
    expect(() => assertSshPrivateKey(key)).toThrow();
  });
});

/** Changes the second check word of the private section of an unencrypted ed25519 key. */
function flipCheckWord(body: Buffer): Buffer {
  const copy = Buffer.from(body);
  let offset = 'openssh-key-v1\0'.length;
  const skipString = () => {
    offset += 4 + copy.readUInt32BE(offset);
  };
  skipString(); // cipher
  skipString(); // kdf
  skipString(); // kdf options
  offset += 4; // count
  skipString(); // public key
  offset += 4; // private section length
  const second = offset + 4;
  copy.writeUInt32BE((copy.readUInt32BE(second) + 1) >>> 0, second);
  return copy;
}
