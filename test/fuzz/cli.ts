/**
 * `npm run fuzz -- [--iterations N] [--seed S] [--target NAME]`: the fuzz targets of
 * `fuzz.test.ts`, run longer. Prints one line per target (payloads, accepted, ignored,
 * refused, crashes, wrongly accepted, time) and the first findings; exits 1 on any finding.
 */
import { parseArgs } from 'node:util';
import { fuzzTarget } from './run-target.js';
import { TARGETS } from './targets.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '20261205' },
    target: { type: 'string', multiple: true },
  },
});
const iterations = Number(values.iterations);
const seed = Number(values.seed);
if (!Number.isSafeInteger(iterations) || iterations < 1)
  throw new Error('--iterations must be a positive integer');
if (!Number.isSafeInteger(seed)) throw new Error('--seed must be an integer');
const chosen = values.target === undefined ? TARGETS : TARGETS.filter((t) => values.target?.includes(t.name));
if (chosen.length === 0)
  throw new Error(`--target must name one of ${TARGETS.map((t) => t.name).join(', ')}`);

let findings = 0;
console.log(`seed ${seed}, ${iterations} payloads per target`);
for (const target of chosen) {
  const r = fuzzTarget(target, iterations, seed);
  findings += r.crashes.length + r.wronglyAccepted.length;
  console.log(
    `${r.target}: ${r.payloads} payloads, ${r.accepted} accepted, ${r.ignored} ignored, ${r.refused} refused, ` +
      `${r.crashes.length} crashes, ${r.wronglyAccepted.length} wrongly accepted, ${r.ms} ms`,
  );
  for (const f of [...r.crashes, ...r.wronglyAccepted].slice(0, 5))
    console.log(`  #${f.index}: ${f.detail} <- ${f.payload}`);
}
process.exitCode = findings === 0 ? 0 : 1;
