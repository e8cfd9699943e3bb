import { spawn } from 'node:child_process';
import { repoRoot } from './run-cli.js';

// Runs once the Kubernetes gateway (shared/kube/index.ts, kube engineer) has landed; until then
// the CLI cannot reach a cluster at all.

/**
 * Runs `npm start` exactly as the README says, with CI=true and stdin closed. The demo stops
 * itself after 60 s (non-zero); the one-minute bound is its own, not asserted here, so a
 * loaded CI machine does not turn into a flaky test.
 */
function npmStart(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['start'], {
      cwd: repoRoot,
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 70_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm start', () => {
  it('propagates a changed secret to every cluster, restarts the dependents and exits 0 by itself', async () => {
    // when
    const run = await npmStart();
    // then
    expect(run.stderr).not.toContain('npm start failed');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/event\s+secret-version-created secret=prod\/database version=2/);
    expect(run.stdout).toMatch(/converged\s+yes/);
    expect(run.stdout).toMatch(/secret values in logs\s+none/);
    expect(run.stdout).toContain('frontend (does not use the Secret): not restarted, as expected');
    expect(run.stdout).not.toContain('NOT RESTARTED');
    // The demo store's initial value never appears in the output.
    expect(run.stdout + run.stderr).not.toContain('demo-only-initial-password');
  }, 80_000);
});
