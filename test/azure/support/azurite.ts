import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Azurite's well-known development account (public, documented; not a secret). */
const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface LocalAzurite {
  /** Connection string for the queue endpoint on 127.0.0.1. */
  connectionString: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves true once something accepts connections on the port, false if the child exits or 20 s pass. */
async function waitForPort(port: number, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** Starts `azurite-queue` (npm azurite) in memory on a free loopback port and waits until it listens. */
export async function startAzuriteQueue(): Promise<LocalAzurite> {
  const location = mkdtempSync(join(tmpdir(), 'azurite-'));
  const bin = join(import.meta.dirname, '..', '..', '..', 'node_modules', '.bin', 'azurite-queue');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn(
      bin,
      [
        '--queueHost',
        '127.0.0.1',
        '--queuePort',
        String(port),
        '--inMemoryPersistence',
        '--skipApiVersionCheck',
        '--loose',
        '--silent',
        '--disableTelemetry',
      ],
      // In memory: nothing is written; cwd keeps any debug files out of the repo.
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: location },
    );
    const listening = await waitForPort(port, child);
    const stop = () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    if (listening) {
      return {
        connectionString: `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};QueueEndpoint=http://127.0.0.1:${port}/${ACCOUNT};`,
        stop: async () => {
          await stop();
          rmSync(location, { recursive: true, force: true });
        },
      };
    }
    await stop();
    // The port may have been taken between probing and binding; try another.
    if (attempt >= 2) throw new Error('azurite-queue did not start');
  }
}
