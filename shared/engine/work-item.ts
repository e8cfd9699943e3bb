import * as z from 'zod';
import { ChangeKind } from '../core/change.js';
import { InvalidEventError } from '../core/errors.js';
import type { WorkItem } from './types.js';

const name = (field: string) =>
  z.string({ error: `${field} must be a string` }).min(1, `${field} must not be empty`);
const names = (field: string) =>
  z
    .array(name(`every entry of ${field}`), { error: `${field} must be a list of names` })
    .min(1, `${field} must be a non-empty list of names`);

const workItemSchema = z.object({
  changeId: name('changeId'),
  kind: z.enum(ChangeKind, { error: `kind must be a change kind (${Object.values(ChangeKind).join(', ')})` }),
  binding: name('binding'),
  bindings: names('bindings').optional(),
  version: z.string({ error: 'version must be a string' }).optional(),
  clusters: names('clusters'),
  attempt: z.number({ error: 'attempt must be a number' }).int().min(1).optional(),
});

/**
 * Checks a decoded work message (the same on every queue) and returns the WorkItem, without
 * any field it does not know. Anything else is an InvalidEventError naming every bad field,
 * which the workers drop instead of retrying. `what` names the message in the error.
 */
export function toWorkItem(value: unknown, what = 'work message'): WorkItem {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidEventError(`${what} is not a work item object`);
  }
  const result = workItemSchema.safeParse(value);
  if (!result.success) {
    const problems = [...new Set(result.error.issues.map((issue) => issue.message))];
    throw new InvalidEventError(`${what} is not a valid work item: ${problems.join('; ')}`);
  }
  const { bindings, version, attempt, ...item } = result.data;
  return {
    ...item,
    ...(bindings === undefined ? {} : { bindings }),
    ...(version === undefined ? {} : { version }),
    ...(attempt === undefined ? {} : { attempt }),
  };
}
