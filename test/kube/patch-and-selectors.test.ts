import type { Json } from '../../dev/kube/patch.js';
import { jsonPatch, mergePatch, strategicMergePatch } from '../../dev/kube/patch.js';
import { parseFieldSelector, parseLabelSelector } from '../../dev/kube/selectors.js';

const pod = (containers: Json[]): Json => ({ spec: { template: { spec: { containers } } } });

describe('patch formats of the local API server', () => {
  test.each<[string, Json, Json, Json]>([
    [
      'merge patch sets and removes keys',
      { a: 1, b: { c: 2, d: 3 } },
      { b: { c: null, e: 4 } },
      { a: 1, b: { d: 3, e: 4 } },
    ],
    ['merge patch replaces lists', { l: [1, 2] }, { l: [3] }, { l: [3] }],
  ])('%s', (_name, target, patch, expected) => {
    expect(mergePatch(target, patch)).toEqual(expected);
  });

  test.each<[string, Json, Json, Json]>([
    [
      'containers merge by name, keeping unmentioned fields',
      pod([
        { name: 'a', image: 'a:1', env: [{ name: 'X', value: '1' }] },
        { name: 'b', image: 'b:1' },
      ]),
      pod([{ name: 'a', image: 'a:2' }]),
      pod([
        { name: 'a', image: 'a:2', env: [{ name: 'X', value: '1' }] },
        { name: 'b', image: 'b:1' },
      ]),
    ],
    [
      '$patch: delete removes a list element by key',
      pod([{ name: 'a' }, { name: 'b' }]),
      pod([{ name: 'b', $patch: 'delete' }]),
      pod([{ name: 'a' }]),
    ],
    [
      '$setElementOrder directives are dropped',
      pod([{ name: 'a' }]),
      {
        spec: {
          template: {
            spec: { '$setElementOrder/containers': [{ name: 'a' }], containers: [{ name: 'a', image: 'x' }] },
          },
        },
      },
      pod([{ name: 'a', image: 'x' }]),
    ],
    [
      'null deletes a key',
      { metadata: { annotations: { a: '1', b: '2' } } },
      { metadata: { annotations: { a: null } } },
      { metadata: { annotations: { b: '2' } } },
    ],
  ])('strategic merge: %s', (_name, target, patch, expected) => {
    expect(strategicMergePatch(target, patch)).toEqual(expected);
  });

  test('JSON patch applies add, replace, remove and test in order, without touching the input', () => {
    // given
    const target: Json = { spec: { replicas: 1, list: ['a'] } };
    // when
    const result = jsonPatch(target, [
      { op: 'test', path: '/spec/replicas', value: 1 },
      { op: 'replace', path: '/spec/replicas', value: 3 },
      { op: 'add', path: '/spec/list/-', value: 'b' },
      { op: 'remove', path: '/spec/list/0' },
      { op: 'add', path: '/metadata', value: { name: 'x' } },
    ]);
    // then
    expect(result).toEqual({ spec: { replicas: 3, list: ['b'] }, metadata: { name: 'x' } });
    expect(target).toEqual({ spec: { replicas: 1, list: ['a'] } });
  });

  test('a failed JSON patch test operation is an error', () => {
    expect(() => jsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }])).toThrow(
      'test operation failed at /a',
    );
  });
});

describe('selectors of the local API server', () => {
  const labels = { app: 'api', tier: 'web', env: 'prod' };
  test.each<[string, boolean]>([
    ['', true],
    ['app=api', true],
    ['app==api,tier=web', true],
    ['app!=api', false],
    ['tier in (web, data)', true],
    ['tier notin (web)', false],
    ['env', true],
    ['!env', false],
    ['missing', false],
    ['app=api,tier in (data)', false],
  ])('label selector %j matches: %p', (selector, expected) => {
    expect(parseLabelSelector(selector)(labels)).toBe(expected);
  });

  test('field selectors support metadata.name and refuse other fields', () => {
    const object = { metadata: { name: 'web', namespace: 'shop' } };
    expect(parseFieldSelector('metadata.name=web')(object)).toBe(true);
    expect(parseFieldSelector('metadata.name!=web')(object)).toBe(false);
    expect(parseFieldSelector('metadata.namespace=shop,metadata.name=web')(object)).toBe(true);
    expect(() => parseFieldSelector('spec.nodeName=x')).toThrow('field label not supported: spec.nodeName');
  });
});
