import { describe, expect, it } from 'vitest';
import { JournalWriter, withoutSuperseded } from '../../src/runtime/durability/journal-writer.js';
import { workflowSeqKey } from '../../src/store/keys.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
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

describe('JournalWriter.withdraw', () => {
  it('takes back entries of the batch being gathered, never of one that went to the store', async () => {
    const store = new MemoryStore();
    const writer = new JournalWriter(store, () => undefined);
    const batch = writer.gatheringBatch;
    const first = writer.append('w', 1, { n: 1 });
    const second = writer.append('w', 2, { n: 2 });
    writer.append('w', 3, { n: 3 });
    expect(writer.withdraw([first, second], batch)).toBe(true);
    await writer.flushed();
    const stored: string[] = [];
    for await (const [key] of store.range('journal')) stored.push(key);
    expect(stored).toEqual([workflowSeqKey('w', 3)]);

    // Written: too late to take back, a delete is needed.
    expect(writer.gatheringBatch).toBeGreaterThan(batch);
    const fourth = writer.append('w', 4, { n: 4 });
    expect(writer.withdraw([fourth], batch)).toBe(false);
    await writer.flushed();
    stored.length = 0;
    for await (const [key] of store.range('journal')) stored.push(key);
    expect(stored).toEqual([workflowSeqKey('w', 3), workflowSeqKey('w', 4)]);
  });
});
