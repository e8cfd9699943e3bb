import { spawn } from 'node:child_process';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A benchmark helper process (the floor, the engine) driven over IPC: one reply per request, by id. */
export interface BenchChild {
  /** Sends `message` and resolves with the reply's `result`; a reply with `error` rejects. */
  call<T = unknown>(message: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

type Reply = { id: number; result?: unknown; error?: string };

/**
 * Starts `script` with this Node. With `cgroup`, the process starts inside that memory
 * cgroup (a shell joins it, then execs Node), so Node sizes its heap for the limit as it
 * does in a function instance, and the kernel stops it if it goes over.
 */
export function startChild(script: string, options: { execArgv?: string[]; cgroup?: string } = {}): BenchChild {
  const argv = [...(options.execArgv ?? []), script];
  const stdio: ['ignore', 'inherit', 'inherit', 'ipc'] = ['ignore', 'inherit', 'inherit', 'ipc'];
  const child =
    options.cgroup === undefined
      ? spawn(process.execPath, argv, { stdio })
      : spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', options.cgroup, process.execPath, ...argv], { stdio });
  let next = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  child.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.error !== undefined) waiter?.reject(new Error(reply.error));
    else waiter?.resolve(reply.result);
  });
  child.on('exit', (code, signal) => {
    const how = signal === 'SIGKILL' && options.cgroup !== undefined ? 'was killed: over its memory limit' : `exited (code ${String(code)}, signal ${String(signal)})`;
    for (const waiter of pending.values()) waiter.reject(new Error(`${script} ${how}`));
    pending.clear();
  });
  return {
    call: <T>(message: Record<string, unknown>) =>
      new Promise<T>((resolve, reject) => {
        const id = (next += 1);
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, ...message });
      }),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

/** A memory cgroup (v2, else v1) limited to `megabytes`, or undefined where this machine allows none (not root, no cgroupfs). */
export function createMemoryCgroup(megabytes: number): { path: string; remove(): void } | undefined {
  const name = `secret-propagator-bench-${process.pid}`;
  const bytes = String(megabytes * 2 ** 20);
  for (const [root, files] of [
    ['/sys/fs/cgroup', ['memory.max']],
    ['/sys/fs/cgroup/memory', ['memory.limit_in_bytes']],
  ] as const) {
    const path = join(root, name);
    try {
      mkdirSync(path);
    } catch {
      continue;
    }
    try {
      for (const file of files) writeFileSync(join(path, file), bytes);
      return {
        path,
        remove: () => {
          try {
            rmdirSync(path);
          } catch {
            // still in use or already gone: the kernel keeps an empty cgroup harmlessly
          }
        },
      };
    } catch {
      rmdirSync(path);
    }
  }
  return undefined;
}
