import {
  loadCorpus,
  loadGolden,
  outcome,
  renderOurs,
  type CaseResult,
  type CorpusCase,
} from './eso-corpus.js';

/**
 * Our interpreter against ESO's own template engine, through the golden results the Go
 * oracle wrote (test/conformance/templates; regenerated and checked in `npm run
 * test:conformance`). Every case must give ESO's output byte for byte or ESO's error
 * class, unless the corpus marks it a deliberate difference: then we must give exactly
 * what the corpus says we give, and ESO must really give something else.
 */
const corpus = loadCorpus();
const golden = loadGolden();
const goldenByName = new Map(golden.results.map((r) => [r.name, r]));

const same = corpus.cases.filter((c) => c.deliberate === undefined);
const deliberate = corpus.cases.filter((c) => c.deliberate !== undefined);

function theirs(testCase: CorpusCase): CaseResult {
  const result = goldenByName.get(testCase.name);
  if (result === undefined) throw new Error(`no golden result for "${testCase.name}"`);
  return result;
}

describe('Go template corpus vs ESO template engine (golden)', () => {
  it('has a golden result for every case and nothing else', () => {
    expect(golden.results.map((r) => r.name)).toEqual(corpus.cases.map((c) => c.name));
    expect(corpus.cases.length).toBeGreaterThanOrEqual(200);
  });

  it.each(same.map((c) => [c.name, c] as const))('%s', (_name, testCase) => {
    expect(outcome(renderOurs(corpus, testCase))).toBe(outcome(theirs(testCase)));
  });

  it.each(deliberate.map((c) => [c.name, c] as const))('%s (deliberate difference)', (_name, testCase) => {
    const expected = testCase.deliberate?.ours ?? {};
    expect(outcome(renderOurs(corpus, testCase))).toBe(outcome(expected));
    expect(outcome(theirs(testCase))).not.toBe(outcome(expected));
  });
});
