/** Secret stores we can read from. */
export const Provider = {
  Aws: 'aws',
  Azure: 'azure',
  Gcp: 'gcp',
  Vault: 'vault',
  Local: 'local',
} as const;
export type Provider = (typeof Provider)[keyof typeof Provider];
export const PROVIDERS: readonly Provider[] = Object.values(Provider);

/** What happened to a secret, independent of the store that reported it. */
export const ChangeKind = {
  /** A version became (or may have become) current: converge every target to the current value. */
  VersionCurrent: 'version-current',
  /** A version was disabled or destroyed: converge to the latest enabled version. */
  VersionDisabled: 'version-disabled',
  /** The secret was deleted: follow each binding's deletion policy. */
  Deleted: 'deleted',
  /** The store warns the secret expires soon. */
  NearExpiry: 'near-expiry',
  /** The store says the secret has expired. */
  Expired: 'expired',
  /** The store (or a schedule) asks for a rotation. */
  RotateRequested: 'rotate-requested',
  /** A scheduled or manual full reconcile. */
  Reconcile: 'reconcile',
} as const;
export type ChangeKind = (typeof ChangeKind)[keyof typeof ChangeKind];

/**
 * One normalised secret event. Events are hints: the engine always reads the store's
 * current version rather than trusting `versionId`.
 */
export interface SecretChange {
  provider: Provider;
  /** The store's id: AWS name or ARN, Key Vault `vault/name`, Google `projects/<p>/secrets/<s>`, Vault `mount/path`, local name. */
  secretRef: string;
  /** The version the event names, when it names one. */
  versionId?: string;
  kind: ChangeKind;
  /** The platform's event id, used as correlation id and for de-duplication in logs. */
  eventId: string;
  /** ISO-8601 time of the event at the store. */
  time: string;
  /** Where the event came from, e.g. `aws.secretsmanager/Secret Label Updated`; for logs. */
  origin?: string;
  /** Store location hints carried by the event (region, account, vault host, project). */
  location?: { region?: string; account?: string; vault?: string; project?: string };
}

/** The result of normalising one platform payload. */
export type NormalizedEvent = { changes: SecretChange[] } | { ignored: string };
