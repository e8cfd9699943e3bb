import type { BindingSpec } from '../registry/schema.js';
import type { RenderedSecret } from './index.js';

/**
 * Validation gates run on the rendered Secret before anything is written anywhere.
 * Throws `ValidationGateError` naming the binding and the reason, never the value.
 * First cut: no gates; the TLS / dockerconfigjson / ssh / required-key gates replace this.
 */
export function validateSecret(_binding: BindingSpec, _secret: RenderedSecret, _now: Date): void {}
