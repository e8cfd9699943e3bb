/**
 * `npm run chaos`: kill-and-redeliver at random. Each trial puts a new value in the store while
 * a target in every cluster holds the previous one with three dependents; worker processes are
 * killed (SIGKILL) at random points (a random request and phase, or a random time into the
 * work), up to `--kills` times in a row, then a last worker runs to the end. Every dependent
 * must end restarted exactly once, the value in place and no marker left. Loopback only.
 *
 *   npm run chaos -- --trials 20 --seed 7 [--clusters 2] [--kills 3]
 */
import { parseArgs } from 'node:util';
import { DEPENDENTS, startCrashLab } from './lab.js';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '12' },
    seed: { type: 'string', default: '20261205' },
    clusters: { type: 'string', default: '2' },
    kills: { type: 'string', default: '3' },
  },
});

const positive = (name: string, text: string | undefined): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${text}"`);
  return n;
};
const trials = positive('trials', values.trials);
const seed = positive('seed', values.seed);
const clusterCount = positive('clusters', values.clusters);
const maxKills = positive('kills', values.kills);

/** mulberry32: a small seeded generator, so a run can be repeated exactly. */
function generator(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = generator(seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const OPERATIONS = ['getSecret', 'replaceSecret', 'getWorkload', 'listWorkloads', 'patchTemplateAnnotations'];

/** A random place to die: a request and a phase, or a time into the work. */
function randomCrash(): { crashAt?: string; crashAfterMs?: number } {
  if (random() < 0.5) return { crashAfterMs: Math.floor(random() * 300) };
  const calls = 3 * clusterCount;
  return {
    crashAt: `${pick(OPERATIONS)}:${1 + Math.floor(random() * calls)}:${pick(['before', 'during', 'after'])}`,
  };
}

const clusters = Array.from({ length: clusterCount }, (_, i) => `chaos-${i + 1}`);
const lab = await startCrashLab({ clusters, prefix: 'chaos' });
const totals = { trials, expected: 0, done: 0, lost: 0, double: 0, kills: 0, unconverged: 0 };
const started = performance.now();
try {
  for (let t = 1; t <= trials; t++) {
    const trial = lab.trial();
    trial.putVersion(`v1-${t}`);
    await trial.applyHere();
    trial.seedDependents();
    trial.putVersion(`v2-${t}`);
    const kills = 1 + Math.floor(random() * maxKills);
    const points: string[] = [];
    for (let k = 0; k < kills; k++) {
      const crash = randomCrash();
      const run = await trial.runWorker(crash);
      points.push(`${crash.crashAt ?? `${crash.crashAfterMs}ms`}${run.killed ? '' : ' (finished)'}`);
      if (run.killed) totals.kills++;
    }
    await trial.runWorker();
    let line = '';
    for (const cluster of clusters) {
      const state = trial.state(cluster);
      if (state.password !== `v2-${t}` || state.pending !== undefined) totals.unconverged++;
      for (const d of state.dependents) {
        totals.expected++;
        if (d.restarts === 0) totals.lost++;
        else if (d.restarts === 1 && d.restartedForHash === state.hash) totals.done++;
        else totals.double++;
      }
      line += ` ${cluster}=[${state.dependents.map((d) => d.restarts).join(',')}]`;
    }
    process.stdout.write(`trial ${t}: kills at ${points.join(', ')}; restarts${line}\n`);
  }
} finally {
  await lab.stop();
}
const seconds = ((performance.now() - started) / 1000).toFixed(0);
process.stdout.write(
  `\nseed ${seed}, ${clusterCount} clusters x ${DEPENDENTS.length} dependents, up to ${maxKills} kills per trial, ${seconds} s\n` +
    `${JSON.stringify(totals)}\n`,
);
process.exitCode = totals.lost + totals.double + totals.unconverged === 0 ? 0 : 1;
