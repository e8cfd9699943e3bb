import type { NormalizedEvent } from '../core/change.js';
import { InvalidEventError } from '../core/errors.js';
import { normalizeAwsEvent } from './aws.js';
import { normalizeAzureEvent } from './azure.js';
import { normalizeGcpEvent } from './gcp.js';
import { normalizeLocalEvent } from './local.js';
import { normalizeVaultEvent } from './vault.js';

export type { NormalizedEvent, SecretChange } from '../core/change.js';
export { InvalidEventError } from '../core/errors.js';

const normalizers = {
  aws: normalizeAwsEvent,
  azure: normalizeAzureEvent,
  gcp: normalizeGcpEvent,
  vault: normalizeVaultEvent,
  local: normalizeLocalEvent,
} as const;

/**
 * Normalises one platform payload into secret changes, or the reason it is ignored.
 * Pure: no I/O, no clock. Throws `InvalidEventError` for malformed input.
 */
export function normalizeEvent(provider: keyof typeof normalizers, raw: unknown): NormalizedEvent {
  const normalize = normalizers[provider] as ((raw: unknown) => NormalizedEvent) | undefined;
  if (normalize === undefined) {
    throw new InvalidEventError(
      `unknown provider "${String(provider)}" (expected one of ${Object.keys(normalizers).join(', ')})`,
    );
  }
  return normalize(raw);
}
