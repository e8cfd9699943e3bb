/**
 * Restarts survive a worker that dies at any point of a work item: a real worker process
 * (worker.ts, the queue worker's path) is killed with SIGKILL at a chosen request, the same
 * message is redelivered to a fresh process, and every dependent ends restarted exactly once
 * for the change, with the restart-pending marker gone.
 */
import { DEPENDENTS, startCrashLab, type CrashLab } from './lab.js';

const CANARY = 'CANARY-crash-5d1e-never-log';
const CLUSTER = 'crash-1';

let lab: CrashLab;

beforeAll(async () => {
  lab = await startCrashLab({ clusters: [CLUSTER] });
});

afterAll(async () => {
  await lab.stop();
});

// Patch order: the named Deployment, then discovered kinds in order (StatefulSet, DaemonSet).
const POINTS: [string, string][] = [
  ['before the write', 'replaceSecret:1:before'],
  ['between the write and the restarts', 'replaceSecret:1:after'],
  ['between the first and second restarts', 'patchTemplateAnnotations:1:after'],
  ['between the second and third restarts', 'patchTemplateAnnotations:2:after'],
  ['after the last restart, before the marker is cleared', 'patchTemplateAnnotations:3:after'],
  ['after the marker is cleared', 'replaceSecret:2:after'],
];

describe('a worker killed with SIGKILL, then the message redelivered', () => {
  test.each(POINTS)('%s: every dependent restarts exactly once', async (_, crashAt) => {
    // given a target at v1 with three dependents, and v2 now current in the store
    const trial = lab.trial();
    trial.putVersion(`v1-${CANARY}`);
    const [created] = await trial.applyHere();
    expect(created?.counts.created).toBe(1);
    trial.seedDependents();
    trial.putVersion(`v2-${CANARY}`);
    // when a worker dies at the crash point and a fresh one gets the same message
    const crashed = await trial.runWorker({ crashAt });
    const atCrash = trial.state(CLUSTER);
    const redelivered = await trial.runWorker();
    const [duplicate] = await trial.applyHere();
    // then
    expect(crashed.killed).toBe(true);
    const after = trial.state(CLUSTER);
    expect(after.password).toBe(`v2-${CANARY}`);
    expect(after.pending).toBeUndefined();
    expect(after.dependents).toEqual(
      DEPENDENTS.map(({ kind, name }) => ({ kind, name, restarts: 1, restartedForHash: after.hash })),
    );
    // the redelivery restarted exactly what the dead worker had not
    const restartedBefore = atCrash.dependents.filter((d) => d.restarts > 0).length;
    expect(redelivered.reports?.[0]?.restarts).toBe(DEPENDENTS.length - restartedBefore);
    expect(duplicate?.counts.unchanged).toBe(1);
    expect(duplicate?.restarts).toBe(0);
    for (const run of [crashed, redelivered]) expect(run.stderr).not.toContain(CANARY);
  });

  test('the crash points land where they say: data written with the marker, restarts partly done', async () => {
    // given
    const trial = lab.trial();
    trial.putVersion('v1');
    await trial.applyHere();
    trial.seedDependents();
    trial.putVersion('v2');
    // when the worker dies between the first and second restarts
    const crashed = await trial.runWorker({ crashAt: 'patchTemplateAnnotations:1:after' });
    // then the Secret holds v2, records its restarts as pending, and one dependent is restarted
    const state = trial.state(CLUSTER);
    expect(crashed.killed).toBe(true);
    expect(state.password).toBe('v2');
    expect(state.pending).toBe(state.hash);
    expect(state.dependents.map((d) => d.restarts)).toEqual([1, 0, 0]);
  });
});
