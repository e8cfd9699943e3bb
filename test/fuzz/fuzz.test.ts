import { fuzzTarget } from './run-target.js';
import { TARGETS } from './targets.js';

/**
 * Seeded, bounded fuzzing of every event normaliser and the registry loader: mutants of the
 * fixtures may only be accepted within the contract, ignored with a reason, or refused with
 * the error type of their layer naming a path. `npm run fuzz` runs the same targets longer.
 */
const SEED = 20_261_205;
const ITERATIONS: Record<string, number> = { registry: 1_500 };

describe('fuzzing with mutated fixtures', () => {
  it.each(TARGETS.map((t) => [t.name, t] as const))(
    '%s: every mutant has an allowed outcome',
    (_name, target) => {
      // given / when
      const report = fuzzTarget(target, ITERATIONS[target.name] ?? 3_000, SEED);
      // then
      expect(report.crashes).toEqual([]);
      expect(report.wronglyAccepted).toEqual([]);
      // The mutants reach every outcome, so the oracle is exercised, not bypassed.
      expect(report.accepted).toBeGreaterThan(0);
      expect(report.refused).toBeGreaterThan(0);
    },
  );
});
