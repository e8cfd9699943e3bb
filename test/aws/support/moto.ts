import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { freePort } from '../../support/ports.js';
import { stopProcess } from '../../support/processes.js';

/** One AWS API call that passed through the counting proxy. */
export interface MotoCall {
  /** `secretsmanager.GetSecretValue`, `AmazonSQS.SendMessage`, the query `Action`, or `GET /clusters/x` for REST. */
  operation: string;
  /** The JSON body, when the protocol is JSON. */
  body: Record<string, unknown> | undefined;
}

export interface Moto {
  /** Endpoint of the counting proxy in front of moto: point every SDK client here. */
  endpoint: string;
  region: string;
  calls(operation?: string): MotoCall[];
  resetCalls(): void;
  stop(): Promise<void>;
}

async function waitUntilUp(url: string, child: ChildProcess, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/moto-api/`);
      if (response.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`moto_server did not start within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function operationOf(
  method: string,
  headers: Record<string, string | string[] | undefined>,
  url: string,
  body: string,
): string {
  const target = headers['x-amz-target'];
  if (typeof target === 'string') return target;
  const params = new URLSearchParams(body.includes('Action=') ? body : (url.split('?')[1] ?? ''));
  // REST protocols (EKS): the method and path name the operation.
  return params.get('Action') ?? `${method} ${url.split('?')[0] ?? url}`;
}

/**
 * Starts `moto_server` on a free loopback port with a counting proxy in front of it, and
 * sets fake credentials in the environment so no SDK client looks for real ones.
 */
export async function startMoto(options: { region?: string } = {}): Promise<Moto> {
  const region = options.region ?? 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  process.env.AWS_SESSION_TOKEN = 'testing';
  process.env.AWS_REGION = region;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';

  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const upstream = `http://127.0.0.1:${port}`;
  try {
    await waitUntilUp(upstream, child, 20_000);
  } catch (error) {
    child.kill('SIGTERM');
    throw error;
  }

  const calls: MotoCall[] = [];
  const proxy: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const text = raw.toString('utf8');
      let body: Record<string, unknown> | undefined;
      try {
        const parsed: unknown = JSON.parse(text);
        body =
          typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
      } catch {
        body = undefined;
      }
      if (!(req.url ?? '').startsWith('/moto-api'))
        calls.push({ operation: operationOf(req.method ?? 'GET', req.headers, req.url ?? '/', text), body });
      const forward = httpRequest(
        { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
        (upstreamRes) => {
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
        },
      );
      forward.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      forward.end(raw);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  const proxyPort = typeof address === 'object' && address !== null ? address.port : 0;
  const endpoint = `http://127.0.0.1:${proxyPort}`;

  return {
    endpoint,
    region,
    calls: (operation) =>
      operation === undefined ? [...calls] : calls.filter((c) => c.operation.endsWith(operation)),
    resetCalls: () => {
      calls.length = 0;
    },
    stop: async () => {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await stopProcess(child);
    },
  };
}
