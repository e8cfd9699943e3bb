import type { NormalizedEvent } from '../core/change.js';
import { InvalidEventError } from '../core/errors.js';

/** Placeholder until the azure event normaliser lands: every payload is rejected. */
export function normalizeAzureEvent(_raw: unknown): NormalizedEvent {
  throw new InvalidEventError('azure events are not supported yet');
}
