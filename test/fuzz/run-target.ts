import { preview, type FuzzTarget } from './targets.js';
import { Rng } from './mutate.js';

/** One finding: the payload's index (reproduce with the same seed), what went wrong, the payload's start. */
export interface Finding {
  index: number;
  detail: string;
  payload: string;
}

/** The figures of one target's run. */
export interface FuzzReport {
  target: string;
  payloads: number;
  accepted: number;
  ignored: number;
  refused: number;
  crashes: Finding[];
  wronglyAccepted: Finding[];
  ms: number;
}

/**
 * Runs `iterations` mutants of the target's seeds. Deterministic for (target, seed):
 * each target draws from its own generator, so adding a target changes no other's payloads.
 */
export function fuzzTarget(target: FuzzTarget, iterations: number, seed: number): FuzzReport {
  const rng = new Rng(seed ^ hash(target.name));
  const report: FuzzReport = {
    target: target.name,
    payloads: 0,
    accepted: 0,
    ignored: 0,
    refused: 0,
    crashes: [],
    wronglyAccepted: [],
    ms: 0,
  };
  const started = performance.now();
  for (let index = 0; index < iterations; index++) {
    const payload = target.mutant(rng, rng.pick(target.seeds));
    const outcome = target.run(payload);
    report.payloads++;
    if (outcome.kind === 'crash')
      report.crashes.push({ index, detail: outcome.detail, payload: preview(payload) });
    else if (outcome.kind === 'wrongly-accepted')
      report.wronglyAccepted.push({ index, detail: outcome.detail, payload: preview(payload) });
    else report[outcome.kind]++;
  }
  report.ms = Math.round(performance.now() - started);
  return report;
}

function hash(text: string): number {
  let h = 2_166_136_261;
  for (const char of text) h = Math.imul(h ^ char.charCodeAt(0), 16_777_619);
  return h >>> 0;
}
