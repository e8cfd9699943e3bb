import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { freePort } from '../support/ports.js';

describe('npm run dev:cluster', () => {
  test('prints a kubeconfig path first, serves kubectl on the given port, and stops on SIGTERM', async () => {
    // given: a free port chosen by the OS via --port 0 would hide the flag, so ask for one first
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'dev/cluster-cli.ts', '--port', String(port)], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      // when
      const first = await new Promise<string>((resolve) =>
        createInterface({ input: child.stdout }).once('line', resolve),
      );
      const result = await new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(
          '/usr/bin/kubectl',
          ['get', 'namespaces', '-o', 'name'],
          { env: { PATH: process.env.PATH ?? '', KUBECONFIG: first, HOME: '/tmp' }, timeout: 20_000 },
          (error, stdout) => resolve({ code: error === null ? 0 : 1, stdout }),
        );
      });
      // then
      expect(existsSync(first)).toBe(true);
      expect(result).toEqual({
        code: 0,
        stdout: 'namespace/default\nnamespace/kube-public\nnamespace/kube-system\n',
      });
      const { readFileSync } = await import('node:fs');
      expect(readFileSync(first, 'utf8')).toContain(`server: https://127.0.0.1:${port}`);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  test('refuses a malformed --unhealthy-when with exit 2 and the expected form', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'dev/cluster-cli.ts', '--port', '0', '--unhealthy-when', 'db:password'],
        { timeout: 20_000 },
        (error, _stdout, stderr) => resolve({ code: error === null ? 0 : (error.code as number), stderr }),
      );
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--unhealthy-when: expected <namespace>/<secret>:<key>=<value>');
  });
});
