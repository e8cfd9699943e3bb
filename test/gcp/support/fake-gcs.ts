import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { canConnect, freePort } from '../../support/ports.js';
import { stopProcess } from '../../support/processes.js';

const repoRoot = join(import.meta.dirname, '..', '..', '..');

/** fake-gcs-server (a Google Cloud Storage emulator) on a loopback port. */
export interface FakeGcs {
  /** `http://127.0.0.1:<port>`: STORAGE_EMULATOR_HOST for @google-cloud/storage. */
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * The emulator binary, built by scripts/test-servers.sh into the cache keyed by its version
 * (minutes cold, instant warm). A missing Go toolchain fails the test, never skips it.
 */
async function fakeGcsBinary(): Promise<string> {
  const { stdout } = await promisify(execFile)(
    'bash',
    [join(repoRoot, 'scripts', 'test-servers.sh'), 'fake-gcs-server'],
    {
      timeout: 600_000,
    },
  );
  return stdout.trim();
}

/** Starts fake-gcs-server in memory on a free loopback port, over plain HTTP. */
export async function startFakeGcs(): Promise<FakeGcs> {
  const bin = await fakeGcsBinary();
  const port = await freePort();
  const child: ChildProcess = spawn(
    bin,
    [
      '-scheme',
      'http',
      '-host',
      '127.0.0.1',
      '-port',
      String(port),
      '-backend',
      'memory',
      '-log-level',
      'error',
      '-public-host',
      `127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 20_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('fake-gcs-server did not start');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => stopProcess(child),
  };
}
