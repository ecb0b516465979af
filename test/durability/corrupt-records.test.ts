/**
 * Damage stays local: a run record that cannot be decoded (bytes that are
 * not a record) or is not a run record (wrong shape) is skipped and reported
 * as a `corrupt` entry by engine.list(), engine.interrupted(), `troupe list`,
 * the inspector's stored runs and autoResume; every other run keeps working.
 */

import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Level } from 'level';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { defineAgent } from '../../src/index.js';
import { answer, type RequestContext } from '../../src/runtime/inspector/requests.js';
import { chain, durableRuntime, Gates, scratchDir, useScratch } from './helpers.js';

useScratch();

const worker = (gates?: Gates, hold: readonly string[] = []) =>
  defineAgent({
    role: 'worker',
    concurrency: 10,
    run: async (task) => {
      if (hold.includes(task.id)) await gates?.wait(task.id);
      return `${task.id} done`;
    },
  });

/**
 * A folder with an ended run `wf-done`, an interrupted run `wf-open`, a run
 * record of bytes that are not a record (`wf-bytes`) and one of the wrong
 * shape (`wf-shape`).
 */
async function damagedFolder(): Promise<string> {
  const dataDir = await scratchDir();
  const gates = new Gates();
  const { rt } = await durableRuntime(dataDir, { agents: [worker(gates, ['b'])] });
  await rt.engine.execute(chain('done', ['x']), { workflowId: 'wf-done' });
  await rt.engine.start(chain('open', ['a', 'b']), { workflowId: 'wf-open' });
  await gates.arrived('b');
  await rt.engine.flushed();
  await rt.store.batch([
    { type: 'put', collection: 'workflows', key: 'wf-shape', value: { workflowId: 'other' } },
  ]);
  await rt.close();
  // Below the store: bytes a troupe store never writes.
  const db = new Level(join(dataDir, 'db'));
  await db.sublevel('workflows').put('wf-bytes', '{"v":1,"data":{"trunc');
  await db.close();
  return dataDir;
}

const ids = (records: { workflowId: string }[]) => records.map((r) => r.workflowId);

describe('corrupt run records', () => {
  it('engine.list() and engine.interrupted() skip them, list each as corrupt with its id and reason, and the other runs work', async () => {
    const dataDir = await damagedFolder();
    const { rt } = await durableRuntime(dataDir, { agents: [worker()] });
    const all = await rt.engine.list();
    expect(ids(all)).toEqual(['wf-done', 'wf-open']);
    expect(all.corrupt).toEqual([
      { workflowId: 'wf-bytes', reason: expect.stringContaining('not valid JSON') },
      { workflowId: 'wf-shape', reason: expect.stringContaining('its workflowId is "other"') },
    ]);
    const interrupted = await rt.engine.interrupted();
    expect(ids(interrupted)).toEqual(['wf-open']);
    expect(ids(interrupted.corrupt)).toEqual(['wf-bytes', 'wf-shape']);
    expect((await rt.engine.list({ status: 'completed' })).map((r) => r.workflowId)).toEqual([
      'wf-done',
    ]);
    expect((await rt.engine.resumeFromCheckpoint('wf-open'))?.status).toBe('completed');
  });

  it('autoResume reports each corrupt record to onError and resumes the other runs', async () => {
    const dataDir = await damagedFolder();
    const { rt, errors } = await durableRuntime(dataDir, { autoResume: true, agents: [worker()] });
    expect(rt.engine.liveRuns()).toEqual(['wf-open']);
    expect(errors).toEqual([
      expect.stringMatching(/^resuming workflow "wf-bytes": .*not valid JSON/),
      expect.stringMatching(/^resuming workflow "wf-shape": Run record "wf-shape" is corrupt/),
    ]);
    expect((await rt.engine.resumeFromCheckpoint('wf-open'))?.status).toBe('completed');
  });

  it('troupe list shows the readable runs and a corrupt row per damaged record (text and --json)', async () => {
    const dataDir = await damagedFolder();
    const run = async (...argv: string[]) => {
      const out = new PassThrough();
      const err = new PassThrough();
      let text = '';
      let errText = '';
      out.on('data', (chunk) => {
        text += chunk;
      });
      err.on('data', (chunk) => {
        errText += chunk;
      });
      const code = await main(argv, {
        out: out as unknown as NodeJS.WriteStream,
        err: err as unknown as NodeJS.WriteStream,
      });
      return { code, text, errText };
    };
    const listed = await run('list', '--data-dir', dataDir);
    expect(listed.code).toBe(0);
    expect(listed.text).toMatch(/wf-done .*completed/);
    expect(listed.text).toMatch(/wf-open /);
    expect(listed.text).toMatch(/wf-bytes .*corrupt/);
    expect(listed.errText).toContain('skipped a corrupt record');
    const json = JSON.parse((await run('list', '--data-dir', dataDir, '--json')).text) as {
      workflowId: string;
      status: string;
    }[];
    expect(json.map((r) => [r.workflowId, r.status]).sort()).toEqual([
      ['wf-bytes', 'corrupt'],
      ['wf-done', 'completed'],
      ['wf-open', expect.stringMatching(/running|interrupted/)],
      ['wf-shape', 'corrupt'],
    ]);
  });

  it("the inspector's stored runs list the readable runs and the corrupt records with their reason", async () => {
    const dataDir = await damagedFolder();
    const { rt } = await durableRuntime(dataDir, { agents: [worker()] });
    // Only the store is consulted for this request.
    const ctx = { store: rt.store } as unknown as RequestContext;
    const frames = await answer({ id: 1, type: 'stored.list' }, ctx);
    const runs = frames[0]?.type === 'stored.runs' ? frames[0].runs : [];
    expect(runs.map((r) => [r.workflowId, r.status]).sort()).toEqual([
      ['wf-bytes', 'corrupt'],
      ['wf-done', 'completed'],
      ['wf-open', 'running'],
      ['wf-shape', 'corrupt'],
    ]);
    expect(runs.find((r) => r.workflowId === 'wf-bytes')?.corrupt).toContain('not valid JSON');
  });
});
