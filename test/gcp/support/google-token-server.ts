import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A local Security Token Service endpoint plus an `external_account` (workload identity
 * federation) credential file whose `token_url` points at it, so google-auth-library's
 * real token flow (Application Default Credentials via GOOGLE_APPLICATION_CREDENTIALS or
 * `keyFilename`) runs without reaching Google. (A service-account key would not do: the
 * library ignores its `token_uri` and always calls Google's token endpoint.)
 */
export interface FakeGoogleAuth {
  /** Path of the credential JSON file (GOOGLE_APPLICATION_CREDENTIALS). */
  keyFile: string;
  /** Token requests served so far. */
  tokenRequests(): number;
  /** The access token the next request will get. */
  nextToken(): string;
  /** Answers the next token request with this HTTP status and an OAuth error. */
  failNext(status: number): void;
  /** Lifetime of issued tokens, in seconds. @default 3600 */
  setExpiresIn(seconds: number): void;
  stop(): Promise<void>;
}

const SUBJECT_TOKEN = 'local-subject-token';

export async function startFakeGoogleAuth(options: { fixedToken?: string } = {}): Promise<FakeGoogleAuth> {
  let served = 0;
  let expiresIn = 3600;
  let failWith: number | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (
        req.method !== 'POST' ||
        req.url !== '/token' ||
        form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:token-exchange' ||
        form.get('subject_token') !== SUBJECT_TOKEN
      ) {
        res.statusCode = 400;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ error: 'invalid_request' }));
        return;
      }
      if (failWith !== undefined) {
        res.statusCode = failWith;
        failWith = undefined;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'Invalid JWT Signature.' }));
        return;
      }
      served += 1;
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          access_token: options.fixedToken ?? `ya29.fake-${served}`,
          issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          token_type: 'Bearer',
          expires_in: expiresIn,
        }),
      );
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'gcp-adc-'));
  const keyFile = join(dir, 'external-account.json');
  const subjectFile = join(dir, 'subject-token');
  writeFileSync(subjectFile, SUBJECT_TOKEN);
  writeFileSync(
    keyFile,
    JSON.stringify({
      type: 'external_account',
      audience:
        '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/local/providers/local',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: `http://127.0.0.1:${port}/token`,
      credential_source: { file: subjectFile },
      universe_domain: 'googleapis.com',
    }),
  );
  return {
    keyFile,
    tokenRequests: () => served,
    nextToken: () => `ya29.fake-${served + 1}`,
    failNext(status) {
      failWith = status;
    },
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
