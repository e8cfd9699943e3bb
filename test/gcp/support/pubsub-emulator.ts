import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, freePort } from '../../support/ports.js';

/**
 * The Google Cloud Pub/Sub emulator (`gcloud beta emulators pubsub start`) on a free
 * 127.0.0.1 port, in its own process group so `stop()` ends the Java server too. gcloud is
 * told not to prompt, check for updates or report usage, so nothing leaves loopback.
 */
export interface PubsubEmulator {
  /** `127.0.0.1:<port>`: the value for PUBSUB_EMULATOR_HOST / `apiEndpoint`. */
  host: string;
  port: number;
  projectId: string;
  stop(): Promise<void>;
}

function stopGroup(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    const pid = child.pid;
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}

export async function startPubsubEmulator(
  options: { projectId?: string; timeoutMs?: number } = {},
): Promise<PubsubEmulator> {
  const projectId = options.projectId ?? 'demo-project';
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'pubsub-emulator-'));
  const child = spawn(
    'gcloud',
    [
      'beta',
      'emulators',
      'pubsub',
      'start',
      `--host-port=127.0.0.1:${port}`,
      `--project=${projectId}`,
      `--data-dir=${dataDir}`,
    ],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
        CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: 'true',
        CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
        CLOUDSDK_CONFIG: join(dataDir, 'gcloud-config'),
      },
    },
  );
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const stop = async () => {
    await stopGroup(child);
    rmSync(dataDir, { recursive: true, force: true });
  };
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`Pub/Sub emulator exited early (${child.exitCode}):\n${output.slice(-2000)}`);
    }
    if (/Server started/.test(output) && (await canConnect(port))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Pub/Sub emulator did not start within the timeout:\n${output.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { host: `127.0.0.1:${port}`, port, projectId, stop };
}
