/** One read of a published registry: its text and the store's version of it. */
export interface StoredRegistry {
  text: string;
  /** The object's version as the store names it (S3/Blob ETag, GCS generation, file mtime and size). */
  version: string;
}

/**
 * A published registry in an object store. `version` is the cheap check a function makes every
 * `settings.registryRefresh`; `read` downloads only when that version changed.
 */
export interface RegistryStore {
  /** The URL it was opened from (logs and errors). */
  readonly url: string;
  /** The current version, without downloading the object. */
  version(): Promise<string>;
  read(): Promise<StoredRegistry>;
  /** Writes the text (publish); resolves to the new version. */
  write(text: string): Promise<string>;
}
