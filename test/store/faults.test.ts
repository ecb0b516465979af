/**
 * The storage-fault suite on the embedded backends. LevelDB reopens the same
 * folder; the memory store is kept across a runtime's close so it can be
 * "reopened" by the next runtime.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelStore, MemoryStore, type Store } from '../../src/index.js';
import { describeStoreFaults } from './faults.js';

/** A MemoryStore whose close() keeps the data, so a later runtime sees it. */
class KeptMemoryStore extends MemoryStore {
  override async close(): Promise<void> {}
  release(): Promise<void> {
    return super.close();
  }
}

describeStoreFaults('MemoryStore', async () => {
  const memory = new KeptMemoryStore();
  return { open: async (): Promise<Store> => memory, cleanup: () => memory.release() };
});

describeStoreFaults('LevelStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'troupe-faults-'));
  return {
    open: () => LevelStore.open(dir),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
