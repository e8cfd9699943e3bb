/**
 * A binding whose `template.type` changes, on the real server, where a Secret's `type` is
 * immutable: the product deletes the Secret it owns (only the version it read) and creates it
 * with the new type, instead of retrying a PUT the server can never accept.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ControlPlaneEndpoint } from '../support/control-plane.js';
import { ADMIN, productRegistry, startProduct, type BindingInput } from '../support/product.js';
import { sharedTls } from '../../../dev/kube/tls.js';
import { kubeClient, realServer, type KubeClient } from '../support/servers.js';

// The TLS validation gate wants a real certificate and key; a line of the key is the canary.
const tls = sharedTls();
const CANARY = tls.keyPem.split('\n')[1] ?? '';
const NS = `type-change-${process.pid}`;

const binding = (type: string): BindingInput => ({
  name: 'edge-tls',
  source: 'mem',
  remoteRef: { key: 'edge/tls' },
  data: [
    { secretKey: 'tls.crt', property: 'crt' },
    { secretKey: 'tls.key', property: 'key' },
  ],
  target: {
    name: 'edge-tls',
    namespace: NS,
    clusters: { matchLabels: { env: 'conformance' } },
    template: { type },
  },
});

let plane: ControlPlaneEndpoint;
let admin: KubeClient;
let dir: string;

beforeAll(async () => {
  plane = realServer();
  admin = kubeClient({ server: plane.server, caData: plane.caData, token: plane.adminToken });
  dir = mkdtempSync(join(tmpdir(), 'sp-type-change-'));
  await admin.namespace(NS);
});

afterAll(() => {
  admin.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a changed template.type converges: the owned Secret is deleted (with a precondition) and created with the new type', async () => {
  // given an Opaque Secret written by the product
  const first = startProduct(plane, dir, productRegistry(plane, [binding('Opaque')]), ADMIN);
  first.store.put('edge/tls', { crt: tls.certPem, key: tls.keyPem });
  const created = first.runtime.summarize(await first.runtime.handle(first.change('edge/tls')));
  first.close();
  expect(created).toMatchObject({ ok: true, counts: { created: 1 } });
  // when the binding's template asks for kubernetes.io/tls
  const second = startProduct(plane, dir, productRegistry(plane, [binding('kubernetes.io/tls')]), ADMIN);
  second.store.put('edge/tls', { crt: tls.certPem, key: tls.keyPem });
  const reports = await second.runtime.handle(second.change('edge/tls'));
  second.close();
  // then the owned Secret was deleted and created again with the new type and the same data
  const target = reports[0]?.targets[0];
  expect(target).toMatchObject({ outcome: 'updated' });
  const stored = await admin.send('GET', `/api/v1/namespaces/${NS}/secrets/edge-tls`);
  expect(stored.body['type']).toBe('kubernetes.io/tls');
  const data = stored.body['data'] as Record<string, string>;
  expect(Buffer.from(data['tls.key'] ?? '', 'base64').toString()).toBe(tls.keyPem);
  for (const line of [...first.logs, ...second.logs]) expect(line).not.toContain(CANARY);
});
