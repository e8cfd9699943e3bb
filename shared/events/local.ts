import type { NormalizedEvent } from '../core/change.js';
import { InvalidEventError } from '../core/errors.js';

/** Placeholder until the local event normaliser lands: every payload is rejected. */
export function normalizeLocalEvent(_raw: unknown): NormalizedEvent {
  throw new InvalidEventError('local events are not supported yet');
}
