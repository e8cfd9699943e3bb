import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { corpusPath, type Golden } from '../../template/eso-corpus.js';

/**
 * Builds and runs the template oracle: a Go program that renders the corpus with ESO's
 * own template engine. The binary is cached under ~/.cache/secret-propagator by a hash
 * of the oracle's sources and the Go version, so warm runs do not rebuild. Without Go or
 * the module proxy this fails with the reason: the conformance run never skips.
 */

const run = promisify(execFile);
const oracleDir = fileURLToPath(new URL('./oracle/', import.meta.url));
const cacheDir = join(homedir(), '.cache', 'secret-propagator');

/** The Go toolchain: $GO, else /usr/local/go/bin/go, else `go` on PATH. */
export function goBinary(): string {
  if (process.env['GO'] !== undefined) return process.env['GO'];
  return existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';
}

async function goVersion(go: string): Promise<string> {
  try {
    return (await run(go, ['env', 'GOVERSION'])).stdout.trim();
  } catch (error) {
    throw new Error(
      `template oracle: Go is required (tried "${go}"; set GO to its path): ${(error as Error).message}`,
    );
  }
}

/** Builds the oracle unless a binary for these sources and this Go is cached; returns its path. */
export async function buildOracle(): Promise<string> {
  const go = goBinary();
  const version = await goVersion(go);
  const hash = createHash('sha256').update(version);
  for (const file of ['go.mod', 'go.sum', 'main.go']) hash.update(readFileSync(join(oracleDir, file)));
  const binary = join(cacheDir, `eso-template-oracle-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(binary)) return binary;
  mkdirSync(cacheDir, { recursive: true });
  const partial = `${binary}.${process.pid}.tmp`;
  try {
    // -mod=readonly: go.sum is checked in and must be complete; modules come from the proxy.
    await run(go, ['build', '-mod=readonly', '-o', partial, '.'], {
      cwd: oracleDir,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(
      `template oracle: "go build" failed (Go ${version}; is the module proxy reachable?):\n${stderr}`,
    );
  }
  renameSync(partial, binary);
  return binary;
}

/** Runs the oracle over the corpus and returns the golden results it writes. */
export async function runOracle(binary: string): Promise<Golden> {
  const { stdout } = await run(binary, [corpusPath], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as Golden;
}
