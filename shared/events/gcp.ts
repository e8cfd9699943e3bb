import type { NormalizedEvent } from '../core/change.js';
import { InvalidEventError } from '../core/errors.js';

/** Placeholder until the gcp event normaliser lands: every payload is rejected. */
export function normalizeGcpEvent(_raw: unknown): NormalizedEvent {
  throw new InvalidEventError('gcp events are not supported yet');
}
