import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A benchmark helper process (the floor, the engine) driven over IPC: one reply per request, by id. */
export interface BenchChild {
  /** The process id (with a memory limit, the shell execs Node, so it is Node's). */
  pid: number | undefined;
  /** Sends `message` and resolves with the reply's `result`; a reply with `error` rejects. */
  call<T = unknown>(message: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

type Reply = { id: number; result?: unknown; error?: string };

/**
 * Starts `script` with this Node. With `memoryLimitMb`, the process starts inside a memory
 * cgroup of its own with that limit (a shell joins it, then execs Node), so Node sizes its
 * heap for the limit as it does in a function instance, and the kernel stops it if it goes
 * over; where the machine has no cgroups to give, it runs without (see memoryCgroupsAvailable).
 */
export function startChild(
  script: string,
  options: { execArgv?: string[]; memoryLimitMb?: number } = {},
): BenchChild {
  const argv = [...(options.execArgv ?? []), script];
  const stdio: ['ignore', 'inherit', 'inherit', 'ipc'] = ['ignore', 'inherit', 'inherit', 'ipc'];
  const cgroup = options.memoryLimitMb === undefined ? undefined : createMemoryCgroup(options.memoryLimitMb);
  const child =
    cgroup === undefined
      ? spawn(process.execPath, argv, { stdio })
      : spawn(
          'sh',
          ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup.path, process.execPath, ...argv],
          { stdio },
        );
  let next = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  child.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.error !== undefined) waiter?.reject(new Error(reply.error));
    else waiter?.resolve(reply.result);
  });
  child.on('exit', (code, signal) => {
    cgroup?.remove();
    const how =
      signal === 'SIGKILL' && cgroup !== undefined
        ? `was killed: over its ${String(options.memoryLimitMb)} MB memory limit`
        : `exited (code ${String(code)}, signal ${String(signal)})`;
    for (const waiter of pending.values()) waiter.reject(new Error(`${script} ${how}`));
    pending.clear();
  });
  return {
    pid: child.pid,
    call: <T>(message: Record<string, unknown>) =>
      new Promise<T>((resolve, reject) => {
        const id = (next += 1);
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, ...message });
      }),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null || !child.connected) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

let cgroups = 0;

/** Whether this machine lets the bench hold a process to a memory limit. */
export function memoryCgroupsAvailable(): boolean {
  const probe = createMemoryCgroup(64);
  probe?.remove();
  return probe !== undefined;
}

/** A memory cgroup (v2, else v1) limited to `megabytes`, or undefined where this machine allows none (not root, no cgroupfs). */
function createMemoryCgroup(megabytes: number): { path: string; remove(): void } | undefined {
  const name = `secret-propagator-bench-${process.pid}-${(cgroups += 1)}`;
  const bytes = String(megabytes * 2 ** 20);
  // A hierarchy is real when the kernel put its control files there (a plain folder would take any mkdir).
  const hierarchies = [
    { root: '/sys/fs/cgroup', marker: 'cgroup.controllers', limit: 'memory.max' },
    { root: '/sys/fs/cgroup/memory', marker: 'memory.limit_in_bytes', limit: 'memory.limit_in_bytes' },
  ];
  for (const { root, marker, limit } of hierarchies) {
    if (!existsSync(join(root, marker))) continue;
    const path = join(root, name);
    try {
      mkdirSync(path);
    } catch {
      continue;
    }
    const remove = () => {
      try {
        rmdirSync(path);
      } catch {
        // still in use: the kernel keeps an empty cgroup harmlessly
      }
    };
    try {
      if (!existsSync(join(path, limit))) throw new Error('no memory controller here');
      writeFileSync(join(path, limit), bytes);
      return { path, remove };
    } catch {
      remove();
    }
  }
  return undefined;
}
