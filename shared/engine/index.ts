export * from './types.js';
export { createPropagator, type EnginePropagator, type PropagatorOptions } from './propagator.js';
export {
  Annotation,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  MANAGED_SELECTOR,
  RestartAnnotation,
} from './annotations.js';
export { decide, SkipReason, type CreationPolicy, type Decision, type Desired } from './decide.js';
export { contentHash, type HashInput } from './hash.js';
export { referencedSecrets, referencesSecret } from './discovery.js';
export { toWaves } from './waves.js';
export { backoffMs, isTransient, withRetry, withTimeout, type RetryPolicy } from './retry.js';
export { toWorkItem } from './work-item.js';
export {
  fleetStatus,
  targetStatusOf,
  TargetState,
  TARGET_STATES,
  type BindingStatus,
  type StatusOptions,
  type TargetStatus,
} from './status.js';
