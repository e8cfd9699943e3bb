import {
  autoIdleConnections,
  createConnectionBudget,
  createKubeGateway,
  memoryLimitBytes,
  type ConnectionBudget,
} from '../../shared/kube/index.js';
import type { LocalFleet } from '../support/clusters.js';
import { startLocalFleet } from '../support/clusters.js';

const holder = (open = 1) => ({
  open,
  openConnections() {
    return this.open;
  },
});

describe('connection budget', () => {
  it('keeps holders first come, first kept, up to its limit, and keeps them on later asks', () => {
    // given
    const budget = createConnectionBudget(2);
    const [a, b, c] = [holder(), holder(), holder()];
    // when / then
    expect([budget.keep(a), budget.keep(b), budget.keep(c)]).toEqual([true, true, false]);
    expect([budget.keep(a), budget.keep(c)]).toEqual([true, false]);
    expect([budget.holds(a), budget.holds(b), budget.holds(c)]).toEqual([true, true, false]);
    budget.release(a);
    expect(budget.holds(a)).toBe(false);
    expect(budget.keep(c)).toBe(true);
  });

  it('when full, frees the places of holders whose connections the servers closed, at most once a second', () => {
    // given
    let now = 0;
    const budget = createConnectionBudget(1, () => now);
    const closedByServer = holder();
    budget.keep(closedByServer);
    closedByServer.open = 0;
    // when / then
    now = 1_000;
    expect(budget.keep(holder())).toBe(true);
    const waiting = holder();
    now = 1_500;
    expect(budget.keep(waiting)).toBe(false);
  });

  it('auto gives a quarter of the memory at 96 KiB per connection, from the Lambda size when there is one', () => {
    expect(autoIdleConnections(256 * 2 ** 20)).toBe(682);
    expect(autoIdleConnections(1)).toBe(1);
    expect(memoryLimitBytes({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512' })).toBe(512 * 2 ** 20);
    expect(memoryLimitBytes({})).toBeGreaterThan(0);
  });
});

describe('gateways sharing a connection budget (local API servers)', () => {
  let fleet: LocalFleet;
  const names = ['keep-1', 'keep-2', 'keep-3'];

  beforeAll(async () => {
    fleet = await startLocalFleet({ names });
  });
  afterAll(async () => {
    await fleet.stop();
  });
  beforeEach(() => fleet.resetRequests());

  const gateways = (budget?: ConnectionBudget) =>
    fleet.clusters.map((c) =>
      createKubeGateway({
        name: c.name,
        server: c.server,
        caData: c.caData,
        credentials: () => Promise.resolve({ token: c.token }),
        ...(budget === undefined ? {} : { budget }),
      }),
    );

  it('the first clusters keep their connection; the others close it once their requests are done', async () => {
    // given room for one idle connection
    const all = gateways(createConnectionBudget(1));
    // when two rounds of one request per cluster
    for (let round = 0; round < 2; round += 1) {
      for (const gateway of all) await gateway.getSecret('default', 'absent');
    }
    for (const gateway of all) gateway.close();
    // then
    expect(names.map((n) => fleet.connections(n))).toEqual([1, 2, 2]);
  });

  it('without a budget every cluster keeps its connection', async () => {
    const all = gateways();
    for (let round = 0; round < 2; round += 1) {
      for (const gateway of all) await gateway.getSecret('default', 'absent');
    }
    for (const gateway of all) gateway.close();
    expect(names.map((n) => fleet.connections(n))).toEqual([1, 1, 1]);
  });
});
