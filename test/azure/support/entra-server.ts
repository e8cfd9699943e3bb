import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { sharedTls } from '../../../dev/kube/tls.js';

/**
 * A local Microsoft Entra ID (v2.0) endpoint: OpenID configuration discovery and the
 * client-credentials token grant, enough for the real ClientSecretCredential (MSAL)
 * with `authorityHost` on 127.0.0.1 and `disableInstanceDiscovery`.
 */
export interface LocalEntra {
  authorityHost: string;
  caPem: string;
  /** Token grants served: scope and client id per request. */
  grants(): readonly { scope: string; clientId: string; token: string }[];
  /** Refuse the next grant with invalid_client (HTTP 401). */
  refuseNext(): void;
  stop(): Promise<void>;
}

export async function startLocalEntra(options: {
  expiresInSeconds: number;
  clientSecret: string;
}): Promise<LocalEntra> {
  const tls = sharedTls();
  const grants: { scope: string; clientId: string; token: string }[] = [];
  let refuse = false;
  let host = '';
  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', host);
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(body));
      };
      const tenant = url.pathname.split('/').filter((p) => p !== '')[0] ?? 'common';
      if (req.method === 'GET' && url.pathname.endsWith('/.well-known/openid-configuration')) {
        json(200, {
          token_endpoint: `${host}/${tenant}/oauth2/v2.0/token`,
          authorization_endpoint: `${host}/${tenant}/oauth2/v2.0/authorize`,
          end_session_endpoint: `${host}/${tenant}/oauth2/v2.0/logout`,
          device_authorization_endpoint: `${host}/${tenant}/oauth2/v2.0/devicecode`,
          issuer: `${host}/${tenant}/v2.0`,
          jwks_uri: `${host}/${tenant}/discovery/v2.0/keys`,
          response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
          token_endpoint_auth_methods_supported: [
            'client_secret_post',
            'private_key_jwt',
            'client_secret_basic',
          ],
        });
        return;
      }
      if (req.method === 'POST' && url.pathname.endsWith('/oauth2/v2.0/token')) {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        if (refuse || form.get('client_secret') !== options.clientSecret) {
          refuse = false;
          json(400, {
            error: 'invalid_client',
            error_description: 'AADSTS7000215: Invalid client secret provided.',
            error_codes: [7000215],
          });
          return;
        }
        const token = `entra-token-${grants.length + 1}`;
        grants.push({ scope: form.get('scope') ?? '', clientId: form.get('client_id') ?? '', token });
        json(200, {
          token_type: 'Bearer',
          expires_in: options.expiresInSeconds,
          ext_expires_in: options.expiresInSeconds,
          access_token: token,
        });
        return;
      }
      json(404, { error: 'not_found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    authorityHost: host,
    caPem: tls.caPem,
    grants: () => [...grants],
    refuseNext: () => {
      refuse = true;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
