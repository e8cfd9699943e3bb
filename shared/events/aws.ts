import type { NormalizedEvent } from '../core/change.js';
import { InvalidEventError } from '../core/errors.js';

/** Placeholder until the aws event normaliser lands: every payload is rejected. */
export function normalizeAwsEvent(_raw: unknown): NormalizedEvent {
  throw new InvalidEventError('aws events are not supported yet');
}
