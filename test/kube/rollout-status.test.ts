import { rolloutStatus } from '../../shared/kube/rollout-status.js';

const deployment = (
  status: Record<string, unknown>,
  extra: { generation?: number; replicas?: number } = {},
) => ({
  metadata: { generation: extra.generation ?? 2 },
  spec: { replicas: extra.replicas ?? 3 },
  status,
});

const settled = { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 };

describe('rolloutStatus of a Deployment (kubectl rollout status semantics)', () => {
  test.each([
    [
      'the controller has not seen the new spec',
      { ...settled, observedGeneration: 1 },
      'waiting',
      /spec update to be observed/,
    ],
    ['no observedGeneration at all', { replicas: 3 }, 'waiting', /spec update to be observed/],
    [
      'new replicas still being created',
      { ...settled, updatedReplicas: 1 },
      'waiting',
      /1 of 3 new replicas/,
    ],
    [
      'old replicas still terminating',
      { ...settled, replicas: 4 },
      'waiting',
      /1 old replicas are pending termination/,
    ],
    [
      'updated replicas not yet available',
      { ...settled, availableReplicas: 2 },
      'waiting',
      /2 of 3 updated replicas are available/,
    ],
    ['every replica updated and available', settled, 'done', /successfully rolled out/],
    [
      'past its progress deadline',
      {
        ...settled,
        availableReplicas: 0,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "api-7d" has timed out progressing.',
          },
        ],
      },
      'failed',
      /exceeded its progress deadline: ReplicaSet "api-7d" has timed out progressing/,
    ],
  ])('%s', (_what, status, state, reason) => {
    const result = rolloutStatus('Deployment', deployment(status));
    expect(result.state).toBe(state);
    expect(result.reason).toMatch(reason);
  });

  test('spec.replicas absent counts as 1, as the API server defaults it', () => {
    const workload = {
      metadata: { generation: 1 },
      spec: {},
      status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 0 },
    };
    expect(rolloutStatus('Deployment', workload)).toEqual({
      state: 'waiting',
      reason: '0 of 1 updated replicas are available',
    });
  });

  test('a Deployment scaled to zero is rolled out once observed', () => {
    expect(rolloutStatus('Deployment', deployment({ observedGeneration: 2 }, { replicas: 0 })).state).toBe(
      'done',
    );
  });
});

describe('rolloutStatus of a StatefulSet', () => {
  const sts = (
    status: Record<string, unknown>,
    strategy: Record<string, unknown> = { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
  ) => ({
    metadata: { generation: 4 },
    spec: { replicas: 3, updateStrategy: strategy },
    status,
  });
  const complete = {
    observedGeneration: 4,
    readyReplicas: 3,
    updatedReplicas: 3,
    currentRevision: 'db-2',
    updateRevision: 'db-2',
  };

  test.each([
    ['not observed', { ...complete, observedGeneration: 3 }, 'waiting', /spec update to be observed/],
    ['pods not ready', { ...complete, readyReplicas: 2 }, 'waiting', /2 of 3 pods are ready/],
    [
      'pods not yet updated (partition 0: all of them)',
      { ...complete, updatedReplicas: 1 },
      'waiting',
      /1 of 3 pods updated \(partition 0\)/,
    ],
    ['every pod updated and ready', complete, 'done', /rollout complete: 3 new pods/],
  ])('%s', (_what, status, state, reason) => {
    const result = rolloutStatus('StatefulSet', sts(status));
    expect(result.state).toBe(state);
    expect(result.reason).toMatch(reason);
  });

  test('a partition holds back the pods below it: 2 of 3 updated is complete with partition 1', () => {
    const status = { ...complete, updatedReplicas: 2, currentRevision: 'db-1' };
    expect(
      rolloutStatus('StatefulSet', sts(status, { type: 'RollingUpdate', rollingUpdate: { partition: 1 } }))
        .state,
    ).toBe('done');
    expect(
      rolloutStatus(
        'StatefulSet',
        sts({ ...status, updatedReplicas: 1 }, { type: 'RollingUpdate', rollingUpdate: { partition: 1 } }),
      ).state,
    ).toBe('waiting');
  });

  test('without a partition the revisions decide', () => {
    const strategy = { type: 'RollingUpdate' };
    expect(rolloutStatus('StatefulSet', sts({ ...complete, currentRevision: 'db-1' }, strategy))).toEqual({
      state: 'waiting',
      reason: '3 of 3 pods are at the new revision',
    });
    expect(rolloutStatus('StatefulSet', sts(complete, strategy)).state).toBe('done');
  });

  test('OnDelete reports no rollout: a restart annotation replaces no pod, so a gate cannot pass', () => {
    expect(rolloutStatus('StatefulSet', sts(complete, { type: 'OnDelete' }))).toEqual({
      state: 'failed',
      reason: 'update strategy "OnDelete" reports no rollout (only RollingUpdate does)',
    });
  });
});

describe('rolloutStatus of a DaemonSet', () => {
  const ds = (status: Record<string, unknown>) => ({
    metadata: { generation: 2 },
    spec: { updateStrategy: { type: 'RollingUpdate' } },
    status,
  });
  const complete = {
    observedGeneration: 2,
    desiredNumberScheduled: 5,
    updatedNumberScheduled: 5,
    numberAvailable: 5,
  };

  test.each([
    ['not observed', { ...complete, observedGeneration: 1 }, 'waiting'],
    ['not every node updated', { ...complete, updatedNumberScheduled: 4 }, 'waiting'],
    ['updated but not available', { ...complete, numberAvailable: 3 }, 'waiting'],
    ['complete', complete, 'done'],
  ])('%s', (_what, status, state) => {
    expect(rolloutStatus('DaemonSet', ds(status)).state).toBe(state);
  });
});

describe('rolloutStatus of an Argo Rollout', () => {
  const rollout = (status: Record<string, unknown>) => ({
    metadata: { generation: 3 },
    spec: {},
    status: { observedGeneration: 3, ...status },
  });

  test('reads its phase', () => {
    expect(rolloutStatus('Rollout', rollout({ phase: 'Healthy' })).state).toBe('done');
    expect(
      rolloutStatus(
        'Rollout',
        rollout({ phase: 'Progressing', message: 'more replicas need to be updated' }),
      ),
    ).toEqual({
      state: 'waiting',
      reason: 'progressing: more replicas need to be updated',
    });
    expect(
      rolloutStatus('Rollout', rollout({ phase: 'Degraded', message: 'ProgressDeadlineExceeded' })),
    ).toEqual({ state: 'failed', reason: 'degraded: ProgressDeadlineExceeded' });
    expect(rolloutStatus('Rollout', rollout({ phase: 'Paused' })).state).toBe('waiting');
  });
});

describe('rolloutStatus never throws on what a server (or a hostile one) may send', () => {
  test.each([
    undefined,
    null,
    42,
    'text',
    [],
    { status: 'x' },
    { metadata: [], spec: null, status: { conditions: 'no' } },
  ])('%p', (workload) => {
    for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout', 'toString', 'CronJob']) {
      const result = rolloutStatus(kind, workload);
      expect(['done', 'waiting', 'failed']).toContain(result.state);
      expect(typeof result.reason).toBe('string');
    }
  });

  test('an unknown kind fails with its name', () => {
    expect(rolloutStatus('toString', {})).toEqual({
      state: 'failed',
      reason: 'kind toString has no rollout status',
    });
  });
});
