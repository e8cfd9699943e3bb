import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedTls } from '../../../dev/kube/tls.js';
import { canConnect, freePort } from '../../support/ports.js';
import { stopProcess } from '../../support/processes.js';

/** Azurite's well-known development account (public, documented; not a secret). */
const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface LocalAzurite {
  /** Connection string for the queue endpoint on 127.0.0.1. */
  connectionString: string;
  /** The queue endpoint (`AzureWebJobsStorage__queueServiceUri`). */
  queueServiceUri: string;
  /** With `oauth`: the CA the HTTPS endpoint's certificate chains to. */
  caPem?: string;
  stop(): Promise<void>;
}

/** Resolves true once something accepts connections on the port, false if the child exits or 20 s pass. */
async function waitForPort(port: number, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    if (await canConnect(port)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** A started Azurite service: its port and how to stop it. */
interface AzuriteProcess {
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts one Azurite service (`azurite-queue`, `azurite-blob`) in memory on a free loopback
 * port and waits until it listens; `cwd` keeps any debug files out of the repo.
 */
async function spawnAzurite(
  service: 'queue' | 'blob',
  extra: readonly string[],
  cwd: string,
): Promise<AzuriteProcess> {
  const bin = join(import.meta.dirname, '..', '..', '..', 'node_modules', '.bin', `azurite-${service}`);
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn(
      bin,
      [
        `--${service}Host`,
        '127.0.0.1',
        `--${service}Port`,
        String(port),
        '--inMemoryPersistence',
        '--skipApiVersionCheck',
        '--loose',
        '--silent',
        '--disableTelemetry',
        ...extra,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd },
    );
    const listening = await waitForPort(port, child);
    const stop = () => stopProcess(child);
    if (listening) return { port, stop };
    await stop();
    // The port may have been taken between probing and binding; try another.
    if (attempt >= 2) throw new Error(`azurite-${service} did not start`);
  }
}

/**
 * Starts `azurite-queue` (npm azurite) in memory on a free loopback port and waits until it listens.
 * `oauth`: HTTPS (the shared local CA) and `--oauth basic`, so that clients may authenticate
 * with Entra ID bearer tokens (Azurite checks issuer, audience and validity, not signatures).
 */
export async function startAzuriteQueue(options: { oauth?: boolean } = {}): Promise<LocalAzurite> {
  const location = mkdtempSync(join(tmpdir(), 'azurite-'));
  const tls = options.oauth === true ? sharedTls() : undefined;
  const secure: string[] = [];
  if (tls !== undefined) {
    writeFileSync(join(location, 'cert.pem'), tls.certPem);
    writeFileSync(join(location, 'key.pem'), tls.keyPem);
    secure.push('--oauth', 'basic', '--cert', join(location, 'cert.pem'), '--key', join(location, 'key.pem'));
  }
  const scheme = tls === undefined ? 'http' : 'https';
  const { port, stop } = await spawnAzurite('queue', secure, location);
  return {
    connectionString: `DefaultEndpointsProtocol=${scheme};AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};QueueEndpoint=${scheme}://127.0.0.1:${port}/${ACCOUNT};`,
    queueServiceUri: `${scheme}://127.0.0.1:${port}/${ACCOUNT}`,
    ...(tls === undefined ? {} : { caPem: tls.caPem }),
    stop: async () => {
      await stop();
      rmSync(location, { recursive: true, force: true });
    },
  };
}

/** Azurite's Blob service on a free loopback port (plain HTTP, shared-key auth). */
export interface LocalAzuriteBlob {
  /** Connection string for the blob endpoint on 127.0.0.1. */
  connectionString: string;
  /** `http://127.0.0.1:<port>/devstoreaccount1`: the path-style account URL. */
  accountUrl: string;
  stop(): Promise<void>;
}

/** Starts `azurite-blob` in memory on a free loopback port. */
export async function startAzuriteBlob(): Promise<LocalAzuriteBlob> {
  const location = mkdtempSync(join(tmpdir(), 'azurite-blob-'));
  const { port, stop } = await spawnAzurite('blob', [], location);
  const accountUrl = `http://127.0.0.1:${port}/${ACCOUNT}`;
  return {
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};BlobEndpoint=${accountUrl};`,
    accountUrl,
    stop: async () => {
      await stop();
      rmSync(location, { recursive: true, force: true });
    },
  };
}
