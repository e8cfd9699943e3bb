/**
 * dev/kube's stand-in for a wrong-but-valid password: a workload rolled out while a Secret key it
 * reads holds the rule's value never becomes available, says why (never the value), and recovers
 * when rolled out again after the value changed back.
 */
import { parseUnhealthyRule } from '../../dev/kube/unhealthy.js';
import { rolloutStatus } from '../../shared/kube/rollout-status.js';
import { startLocalFleet, type LocalFleet } from '../support/clusters.js';

const BAD = 'canary-bad-password-71c4';
const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('dev/kube --unhealthy-when', () => {
  let fleet: LocalFleet;
  beforeAll(async () => {
    fleet = await startLocalFleet({ names: ['staging'], rolloutDelayMs: 10 });
    fleet.setController({ unhealthyWhen: [parseUnhealthyRule(`apps/db:password=${BAD}`)] });
  });
  afterAll(() => fleet.stop());

  const settle = () => new Promise((resolve) => setTimeout(resolve, 60));
  const envFrom = (secret: string, key: string) => ({
    containers: [
      {
        name: 'app',
        image: 'app:1',
        env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: secret, key } } }],
      },
    ],
  });
  const rollOut = (name: string, podSpec: Record<string, unknown>, restartedAt: string) =>
    fleet.state.seedWorkload('staging', 'Deployment', 'apps', name, {
      podSpec: podSpec as never,
      templateAnnotations: { 'example.com/restartedAt': restartedAt },
    });
  const status = (name: string) =>
    rolloutStatus('Deployment', fleet.state.getWorkload('staging', 'Deployment', 'apps', name));

  test('a Deployment reading the bad value stays unavailable and its condition names the Secret key, not the value', async () => {
    // given
    fleet.state.seedSecret('staging', {
      metadata: { name: 'db', namespace: 'apps' },
      data: { password: b64(BAD) },
    });
    // when
    rollOut('api', envFrom('db', 'password'), 't1');
    await settle();
    // then
    const workload = fleet.state.getWorkload('staging', 'Deployment', 'apps', 'api');
    expect(status('api').state).toBe('waiting');
    const available = (
      workload?.status as { conditions: { type: string; message: string }[] }
    ).conditions.find((c) => c.type === 'Available');
    expect(available?.message).toMatch(/key "password" of Secret "db" is rejected/);
    expect(JSON.stringify(workload)).not.toContain(BAD);
  });

  test('the same Deployment recovers when rolled out after the value changed back', async () => {
    // given
    fleet.state.seedSecret('staging', {
      metadata: { name: 'db', namespace: 'apps' },
      data: { password: b64('good') },
    });
    // when
    rollOut('api', envFrom('db', 'password'), 't2');
    await settle();
    // then
    expect(status('api').state).toBe('done');
  });

  test('workloads that do not read that key are unaffected, whatever the Secret holds', async () => {
    // given
    fleet.state.seedSecret('staging', {
      metadata: { name: 'db', namespace: 'apps' },
      data: { password: b64(BAD), user: b64('app') },
    });
    // when
    rollOut('reads-user', envFrom('db', 'user'), 't1');
    rollOut('reads-other', envFrom('cache', 'password'), 't1');
    rollOut(
      'mounts-all',
      {
        containers: [{ name: 'app', image: 'app:1' }],
        volumes: [{ name: 's', secret: { secretName: 'db' } }],
      },
      't1',
    );
    await settle();
    // then: a volume mounts every key, so it reads the bad one
    expect([status('reads-user').state, status('reads-other').state, status('mounts-all').state]).toEqual([
      'done',
      'done',
      'waiting',
    ]);
  });

  test('a malformed rule is refused with the expected form and without echoing the value', () => {
    expect(() => parseUnhealthyRule(`db:password=${BAD}`)).toThrow(
      /expected <namespace>\/<secret>:<key>=<value>/,
    );
    expect(() => parseUnhealthyRule(`db:password=${BAD}`)).not.toThrow(new RegExp(BAD));
  });
});
