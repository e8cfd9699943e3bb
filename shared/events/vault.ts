import type { NormalizedEvent } from '../core/change.js';
import { InvalidEventError } from '../core/errors.js';

/** Placeholder until the vault event normaliser lands: every payload is rejected. */
export function normalizeVaultEvent(_raw: unknown): NormalizedEvent {
  throw new InvalidEventError('vault events are not supported yet');
}
