import { randomUUID } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Buffer } from 'node:buffer';
import type { SecretChange } from '../../core/change.js';
import { systemClock, type Clock } from '../../core/ports.js';
import { normalizeLocalEvent, type LocalEvent } from '../../events/local.js';
import { currentVersionOf, isStoreFileName, loadLocalStore, type LocalStore } from './store-file.js';

export interface WatchLocalSourceOptions {
  /** Quiet time after the last file event before the store is re-read. @default 150 */
  debounceMs?: number;
  /** The registry name of the source, carried in events for logs. */
  source?: string;
  /** A file that cannot be read or parsed (often a half-saved hand edit); the watcher keeps going. */
  onError?: (error: unknown) => void;
  /** @default systemClock */
  clock?: Clock;
}

export interface LocalSourceWatcher {
  /** Stops watching and waits for a change being reported to finish. */
  close(): Promise<void>;
}

interface SnapshotEntry {
  current: string | undefined;
  /** Base64 of the current bytes, to notice a value edited in place (simple form). Kept in memory only. */
  currentBytes: string | undefined;
  enabled: Set<string>;
  all: Set<string>;
}

function snapshot(store: LocalStore): Map<string, SnapshotEntry> {
  const out = new Map<string, SnapshotEntry>();
  for (const [name, entry] of store.entries) {
    const current = currentVersionOf(entry);
    out.set(name, {
      current: current?.id,
      currentBytes: current === undefined ? undefined : Buffer.from(current.bytes).toString('base64'),
      enabled: new Set(entry.versions.filter((v) => v.enabled).map((v) => v.id)),
      all: new Set(entry.versions.map((v) => v.id)),
    });
  }
  return out;
}

type EventDraft = Omit<LocalEvent, 'id' | 'time'>;

/** The events that turn `before` into `after`, in secret-name order. */
function diffLocalSnapshots(
  before: Map<string, SnapshotEntry>,
  after: Map<string, SnapshotEntry>,
): EventDraft[] {
  const drafts: EventDraft[] = [];
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  for (const secret of names) {
    const old = before.get(secret);
    const now = after.get(secret);
    if (now === undefined) {
      drafts.push({ type: 'secret-deleted', secret });
      continue;
    }
    const withVersion = (type: string, version: string | undefined): EventDraft =>
      version === undefined ? { type, secret } : { type, secret, version };
    if (old === undefined) {
      if (now.current !== undefined) drafts.push(withVersion('secret-created', now.current));
      continue;
    }
    if (old.current === now.current) {
      if (now.current !== undefined && old.currentBytes !== now.currentBytes) {
        drafts.push(withVersion('secret-version-current', now.current));
      }
      continue;
    }
    if (old.current !== undefined && !now.enabled.has(old.current)) {
      drafts.push(withVersion('secret-version-disabled', old.current));
    } else if (now.current !== undefined && !old.all.has(now.current)) {
      drafts.push(withVersion('secret-version-created', now.current));
    } else {
      drafts.push(withVersion('secret-version-current', now.current));
    }
  }
  return drafts;
}

/**
 * Watches a local store (file or folder) and reports each secret whose current version
 * changed as a `SecretChange`, built by `normalizeLocalEvent` from the `LocalEvent` also
 * passed along. File events are debounced; the store is then re-read and compared with
 * the last good snapshot, so a burst of saves yields one change per secret. The parent
 * folder is watched, which survives editors and writers that save by renaming.
 */
export async function watchLocalSource(
  path: string,
  onChange: (change: SecretChange, event: LocalEvent) => void | Promise<void>,
  options: WatchLocalSourceOptions = {},
): Promise<LocalSourceWatcher> {
  const debounceMs = options.debounceMs ?? 150;
  const clock = options.clock ?? systemClock;
  let last = snapshot(await loadLocalStore(path));
  const isFolder = (await stat(path)).isDirectory();
  const watchedDir = isFolder ? path : dirname(path);
  const fileName = basename(path);

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let closed = false;

  const reportError = (error: unknown) => {
    if (options.onError !== undefined) options.onError(error);
  };

  async function rescan(): Promise<void> {
    if (closed) return;
    let next: Map<string, SnapshotEntry>;
    try {
      next = snapshot(await loadLocalStore(path));
    } catch (error) {
      reportError(error);
      return;
    }
    const drafts = diffLocalSnapshots(last, next);
    last = next;
    for (const draft of drafts) {
      const event: LocalEvent = {
        ...draft,
        id: randomUUID(),
        time: clock.now().toISOString(),
        ...(options.source === undefined ? {} : { source: options.source }),
      };
      try {
        const normalized = normalizeLocalEvent(event);
        if ('changes' in normalized) {
          for (const change of normalized.changes) await onChange(change, event);
        }
      } catch (error) {
        reportError(error);
      }
    }
  }

  const watcher: FSWatcher = watch(watchedDir, (_type, changed) => {
    if (closed) return;
    const name = changed === null ? undefined : changed.toString();
    if (name !== undefined && (isFolder ? !isStoreFileName(name) : name !== fileName)) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      running = running.then(rescan);
    }, debounceMs);
  });
  watcher.on('error', reportError);

  return {
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      watcher.close();
      await running;
    },
  };
}
