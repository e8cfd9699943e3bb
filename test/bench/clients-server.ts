/**
 * The servers of `npm run bench:clients` (clients.ts), in a process of their own so that their
 * CPU never counts in the clients'. Each endpoint is its own 127.0.0.1 port and TLS server,
 * speaking HTTP/2 and HTTP/1.1 (chosen by ALPN, as a Kubernetes API server does), and answers
 * every request after `latencyMs`: a GET with a Secret's JSON, a POST with 201 and the same.
 * Driven over IPC (child.ts): `start` answers the ports and the CA, `counts` the TLS
 * connections accepted and the requests answered per HTTP version since it was last asked;
 * the process exits when the channel closes.
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createTlsMaterial } from '../../dev/kube/tls.js';

type Message =
  { id: number; op: 'start'; count: number; latencyMs: number; body: string } | { id: number; op: 'counts' };

const servers: http2.Http2SecureServer[] = [];
/** What the servers saw since the last `counts` call. */
let counts = { connections: 0, http1: 0, http2: 0 };

async function start(
  count: number,
  latencyMs: number,
  body: string,
): Promise<{ ports: number[]; caPem: string }> {
  const tls = createTlsMaterial('bench:clients CA');
  const ports: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const server = http2.createSecureServer(
      { key: tls.keyPem, cert: tls.certPem, allowHTTP1: true },
      (req, res) => {
        if (req.httpVersionMajor === 2) counts.http2 += 1;
        else counts.http1 += 1;
        req.resume();
        req.on('end', () =>
          setTimeout(() => {
            res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
            res.end(body);
          }, latencyMs),
        );
      },
    );
    server.on('secureConnection', () => (counts.connections += 1));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports.push((server.address() as AddressInfo).port);
    servers.push(server);
  }
  return { ports, caPem: tls.caPem };
}

process.on('message', (message: Message) => {
  if (message.op === 'counts') {
    process.send?.({ id: message.id, result: counts });
    counts = { connections: 0, http1: 0, http2: 0 };
    return;
  }
  start(message.count, message.latencyMs, message.body).then(
    (result) => process.send?.({ id: message.id, result }),
    (error: unknown) =>
      process.send?.({ id: message.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
