import { InvalidEventError } from '../../shared/core/errors.js';
import { toWorkItem } from '../../shared/engine/work-item.js';

const item = {
  changeId: 'evt-1',
  kind: 'reconcile',
  binding: 'a',
  bindings: ['a', 'b'],
  clusters: ['c1', 'c2'],
  attempt: 1,
};

describe('work item messages (every queue)', () => {
  it('keeps the fields a worker uses, including several bindings, and drops anything else', () => {
    expect(toWorkItem({ ...item, extra: 'x', version: '7' })).toEqual({ ...item, version: '7' });
    expect(
      toWorkItem({ changeId: 'evt-2', kind: 'version-current', binding: 'a', clusters: ['c1'] }),
    ).toEqual({
      changeId: 'evt-2',
      kind: 'version-current',
      binding: 'a',
      clusters: ['c1'],
    });
  });

  it.each([
    [{ ...item, clusters: 'c1' }, /clusters must be a list of names/],
    [{ ...item, clusters: [] }, /clusters must be a non-empty list/],
    [{ ...item, bindings: [1] }, /every entry of bindings must be a string/],
    [{ ...item, kind: 'explode' }, /kind must be a change kind/],
    [{ ...item, attempt: 'one' }, /attempt must be a number/],
    [{ binding: 'x' }, /changeId must be a string.*kind must be a change kind.*clusters must be a list/],
    [[item], /not a work item object/],
    [null, /not a work item object/],
  ])('rejects %j naming what is wrong', (value, message) => {
    expect(() => toWorkItem(value, 'queue message')).toThrow(InvalidEventError);
    expect(() => toWorkItem(value, 'queue message')).toThrow(message);
  });
});
