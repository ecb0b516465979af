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
