import { loadCorpus, loadGolden, type Golden } from '../../template/eso-corpus.js';
import { buildOracle, runOracle } from './oracle.js';

/**
 * The checked-in golden results are what ESO's template engine really gives: this
 * rebuilds the oracle (cached when warm), renders the corpus again and compares. Without
 * Go or the module proxy it fails, it does not skip. To refresh after changing the
 * corpus: npx tsx test/conformance/templates/update-golden.ts
 */
describe('template golden file vs ESO template engine', () => {
  let fresh: Golden;

  beforeAll(async () => {
    // A cold build compiles ESO's template package and its Kubernetes dependencies.
    fresh = await runOracle(await buildOracle());
  }, 1_800_000);

  it('names the engine it ran', () => {
    expect(fresh.engine).toContain('github.com/external-secrets/external-secrets v0.16.2');
  });

  it('covers every corpus case, in order', () => {
    expect(fresh.results.map((r) => r.name)).toEqual(loadCorpus().cases.map((c) => c.name));
  });

  it('gives the checked-in result for every case', () => {
    const checkedIn = new Map(loadGolden().results.map((r) => [r.name, r]));
    const stale = fresh.results.filter((r) => JSON.stringify(checkedIn.get(r.name)) !== JSON.stringify(r));
    expect(stale).toEqual([]);
  });
});
