import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A local OAuth 2.0 token endpoint plus a service-account key file whose `token_uri`
 * points at it, so google-auth-library's real JWT flow (Application Default Credentials
 * via GOOGLE_APPLICATION_CREDENTIALS or `keyFilename`) runs without reaching Google.
 */
export interface FakeGoogleAuth {
  /** Path of the service-account JSON key file. */
  keyFile: string;
  clientEmail: string;
  /** Token requests served so far. */
  tokenRequests(): number;
  /** The access token the next request will get. */
  nextToken(): string;
  /** Lifetime of issued tokens, in seconds. @default 3600 */
  setExpiresIn(seconds: number): void;
  stop(): Promise<void>;
}

export async function startFakeGoogleAuth(options: { projectId?: string } = {}): Promise<FakeGoogleAuth> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let served = 0;
  let expiresIn = 3600;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (req.method !== 'POST' || req.url !== '/token' || form.get('assertion') === null) {
        res.statusCode = 400;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ error: 'invalid_request' }));
        return;
      }
      served += 1;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ access_token: `ya29.fake-${served}`, expires_in: expiresIn, token_type: 'Bearer' }));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'gcp-adc-'));
  const keyFile = join(dir, 'service-account.json');
  const clientEmail = 'secret-propagator@demo-project.iam.gserviceaccount.com';
  writeFileSync(
    keyFile,
    JSON.stringify({
      type: 'service_account',
      project_id: options.projectId ?? 'demo-project',
      private_key_id: 'local-test-key',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: clientEmail,
      client_id: '1',
      token_uri: `http://127.0.0.1:${port}/token`,
      universe_domain: 'googleapis.com',
    }),
  );
  return {
    keyFile,
    clientEmail,
    tokenRequests: () => served,
    nextToken: () => `ya29.fake-${served + 1}`,
    setExpiresIn(seconds) {
      expiresIn = seconds;
    },
    stop: () =>
      new Promise<void>((done) => {
        rmSync(dir, { recursive: true, force: true });
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
