/**
 * What happens when a store write fails: the run is not acknowledged
 * (its result rejects with STORE_WRITE_FAILED naming the cause), and after
 * a reopen it recovers to what was acknowledged. The failure is injected with
 * FaultyStore, the wrapper tests use. Runs offline, exits by itself.
 *
 *   npx tsx examples/storage-faults.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRuntime, defineAgent, LevelStore, TroupeError } from '../src/index.js';
import { FaultyStore } from '../src/testing/index.js';

const dataDir = await mkdtemp(path.join(tmpdir(), 'troupe-example-'));
const worker = defineAgent({ role: 'worker', run: (task) => `${task.id} done` });
const definition = {
  name: 'import',
  tasks: [
    { id: 'fetch', agent: 'worker' },
    { id: 'load', agent: 'worker', dependsOn: ['fetch'] },
  ],
};

// 1. The disk fills up when the run's result is written (the second write
//    touching run records; the first is the run's start).
const faulty = new FaultyStore(await LevelStore.open(dataDir));
faulty.inject({ collection: 'workflows', after: 1, code: 'ENOSPC' });
const first = await createRuntime({ store: faulty, agents: [worker], onError: () => {} });
try {
  await first.engine.execute(definition, { workflowId: 'wf-import' });
} catch (error) {
  if (!(error instanceof TroupeError)) throw error;
  // Not acknowledged: the caller learns the run is not stored as done.
  console.log(`result: ${error.code} ${String(error.context.reason)}`);
}
await first.close();

// 2. The cause is gone: reopen the folder. The run is as it was last
//    acknowledged, and resumes.
const second = await createRuntime({ dataDir, agents: [worker] });
const interrupted = await second.engine.interrupted();
console.log(`after reopen: ${interrupted.map((run) => run.workflowId).join(', ')} interrupted`);
const result = await second.engine.resumeFromCheckpoint('wf-import');
console.log(`resumed: ${result?.status}`);
await second.close();
await rm(dataDir, { recursive: true, force: true });
