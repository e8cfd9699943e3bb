import type { ChildProcess } from 'node:child_process';

/**
 * Stops a server the tests started: SIGTERM, resolved once it has exited (at once when it
 * exited already, by itself or by a signal).
 */
export function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
