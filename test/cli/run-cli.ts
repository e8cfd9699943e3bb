import { execFile, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TlsMaterial } from '../../dev/kube/tls.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `secret-propagator` launcher (bin/secret-propagator.js) as a child process
 * on the project's Node 22, with stdin closed as in CI.
 */
export function runCli(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true', ...options.env };
  delete env['REGISTRY_FILE'];
  if (options.env?.['REGISTRY_FILE'] !== undefined) env['REGISTRY_FILE'] = options.env['REGISTRY_FILE'];
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(repoRoot, 'node_modules', '.bin', 'node'),
      [join(repoRoot, 'bin', 'secret-propagator.js'), ...args],
      {
        cwd: options.cwd ?? repoRoot,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs the same CLI in this process (shared/cli/main.ts `runCli` with captured output), for
 * the cases where starting a process per run would only add seconds. The child-process runs
 * above cover the launcher and real exit codes.
 */
export async function runCliInProcess(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<CliRun> {
  const { runCli: run } = await import('../../shared/cli/main.js');
  let stdout = '';
  let stderr = '';
  const saved = Object.fromEntries(
    Object.keys({ REGISTRY_FILE: undefined, ...env }).map((k) => [k, process.env[k]]),
  );
  for (const [k, v] of Object.entries({ REGISTRY_FILE: undefined, ...env })) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    const code = await run(args, {
      out: (text) => (stdout += text.endsWith('\n') ? text : `${text}\n`),
      err: (text) => (stderr += text.endsWith('\n') ? text : `${text}\n`),
      isTTY: false,
    });
    return { code, stdout, stderr };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/**
 * TLS material for `startLocalFleet({ tls })`, made in a child process: node-forge's RSA
 * signing runs about a hundred times slower inside jest's VM context (~10 s per certificate
 * pair on a loaded 2-core machine) than in plain Node (well under a second).
 */
export function tlsMaterial(): Promise<TlsMaterial> {
  return new Promise((resolve, reject) => {
    execFile(
      join(repoRoot, 'node_modules', '.bin', 'node'),
      ['--import', 'tsx', join(repoRoot, 'test', 'cli', 'make-tls.ts')],
      { cwd: repoRoot },
      (error, stdout) => {
        if (error !== null) reject(new Error(`make-tls.ts failed: ${error.message}`));
        else resolve(JSON.parse(stdout) as TlsMaterial);
      },
    );
  });
}
