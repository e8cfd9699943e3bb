/**
 * Regenerates test/conformance/templates/golden.json with ESO's own template engine and
 * prints how our interpreter compares (the figures docs/templates.md quotes):
 *
 *   npx tsx test/conformance/templates/update-golden.ts
 */
import { writeFileSync } from 'node:fs';
import { format, resolveConfig } from 'prettier';
import { goldenPath, loadCorpus, summarize } from '../../template/eso-corpus.js';
import { buildOracle, runOracle } from './oracle.js';

const golden = await runOracle(await buildOracle());
const options = (await resolveConfig(goldenPath)) ?? {};
writeFileSync(goldenPath, await format(JSON.stringify(golden), { ...options, parser: 'json' }));
const summary = summarize(loadCorpus(), golden);
console.log(`engine: ${golden.engine}`);
console.log(
  `cases: ${summary.cases}, identical: ${summary.identical}, deliberate differences: ${summary.deliberate}, other differences: ${summary.differing.length}`,
);
for (const name of summary.differing) console.log(`  differs: ${name}`);
