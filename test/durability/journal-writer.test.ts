import { describe, expect, it } from 'vitest';
import { withoutSuperseded } from '../../src/runtime/durability/journal-writer.js';
import type { StoreOp } from '../../src/store/store.js';

const put = (collection: 'journal' | 'snapshots', key: string): StoreOp => ({
  type: 'put',
  collection,
  key,
  value: key,
});
const del = (collection: 'journal' | 'snapshots', key: string): StoreOp => ({
  type: 'del',
  collection,
  key,
});

describe('withoutSuperseded', () => {
  it('drops the ops a later op of the same batch on the same key overrides, keeping order and every delete', () => {
    const ops = [
      put('journal', 'w/1'),
      put('journal', 'w/2'),
      put('journal', 'w/3'),
      // A checkpoint after entry 2 deletes entries 1 and 2 in the same batch.
      put('snapshots', 'w/2'),
      del('journal', 'w/1'),
      del('journal', 'w/2'),
      // Same key in another collection: not superseded.
      put('snapshots', 'w/3'),
      del('snapshots', 'w/0'),
      put('journal', 'w/4'),
    ];
    // The puts of entries 1 and 2 go; everything else stays, in order.
    expect(withoutSuperseded(ops)).toEqual(ops.slice(2));
  });

  it('keeps a put that follows a delete of its key, and leaves a batch without deletes as it is', () => {
    const ops = [del('journal', 'w/1'), put('journal', 'w/1')];
    expect(withoutSuperseded(ops)).toEqual(ops);
    const puts = [put('journal', 'w/1'), put('journal', 'w/2')];
    expect(withoutSuperseded(puts)).toBe(puts);
  });
});

describe('withoutSuperseded with first writes', () => {
  it('drops a delete that directly follows the first write of its key, with the put', () => {
    const first = [put('journal', 'w/1'), put('journal', 'w/2'), put('journal', 'w/3')];
    const ops = [
      del('journal', 'w/0'), // stored by an earlier batch: kept
      ...first,
      put('snapshots', 'w/2'),
      del('journal', 'w/1'),
      del('journal', 'w/2'),
    ];
    const isFirstWrite = (op: StoreOp) => first.includes(op);
    expect(withoutSuperseded(ops, isFirstWrite)).toEqual([ops[0], ops[3], ops[4]]);
  });

  it('keeps a delete after a put that is not a first write, and a put after the delete', () => {
    const rewrite = put('journal', 'w/1');
    expect(withoutSuperseded([rewrite, del('journal', 'w/1')], () => false)).toEqual([
      del('journal', 'w/1'),
    ]);
    const first = put('journal', 'w/1');
    const again = put('journal', 'w/1');
    expect(withoutSuperseded([first, del('journal', 'w/1'), again], (op) => op === first)).toEqual([
      again,
    ]);
  });
});
