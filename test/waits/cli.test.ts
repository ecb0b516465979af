/**
 * Answering from the command line: a run waits for an approval, its process
 * ends, `troupe list --waiting` shows what it asks, `troupe signal` refuses a
 * wrong answer, `troupe approve` / `reject` record the answer, and the run
 * applies it when resumed.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { EngineEvent } from '../../src/index.js';
import { agent } from '../core/helpers.js';
import { durableRuntime, scratchDir, useScratch } from '../durability/helpers.js';

useScratch();

function capture(): Writable & { text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') });
}

async function troupe(...argv: string[]) {
  const out = capture();
  const err = capture();
  const code = await main(argv, {
    out: out as unknown as NodeJS.WriteStream,
    err: err as unknown as NodeJS.WriteStream,
  });
  return { code, out: out.text(), err: err.text() };
}

const deployAgent = () => agent('ops', () => 'deployed');
const definition = {
  name: 'release',
  tasks: [
    { id: 'approve-deploy', kind: 'approval' as const, wait: { prompt: 'Deploy v2?' } },
    { id: 'deploy', agent: 'ops', dependsOn: ['approve-deploy'] },
  ],
};

/** Starts a run that waits for its approval, then closes the runtime, as a process that exits. */
async function waitingRun(dataDir: string, workflowId: string) {
  const { rt } = await durableRuntime(dataDir);
  rt.registerAgent(deployAgent());
  const waiting = new Promise<EngineEvent>((resolve) => rt.engine.on('task.waiting', resolve));
  await rt.engine.start(definition, { workflowId });
  await waiting;
  await rt.engine.flushed();
  await rt.close();
}

async function resume(dataDir: string, workflowId: string) {
  const { rt } = await durableRuntime(dataDir);
  rt.registerAgent(deployAgent());
  const handle = await rt.engine.recover(workflowId);
  const result = await handle!.result;
  await rt.close();
  return result;
}

describe('troupe signal, approve, reject, list --waiting', () => {
  it('approve: listed, wrong answer refused, approved, applied on resume', async () => {
    const dataDir = await scratchDir();
    await waitingRun(dataDir, 'rel-1');

    const listed = await troupe('list', '--waiting', '--data-dir', dataDir);
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(/rel-1\s+approve-deploy\s+approval\s+Deploy v2\?/);
    const json = await troupe('list', '--waiting', '--json', '--data-dir', dataDir);
    expect(JSON.parse(json.out)[0].waits[0]).toMatchObject({
      name: 'approve-deploy',
      schema: { required: ['approved'] },
    });

    const wrong = await troupe(
      'signal',
      'rel-1',
      'approve-deploy',
      '--json',
      '{"approved":"yes"}',
      '--data-dir',
      dataDir,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/INVALID_SIGNAL|does not match/);

    const approved = await troupe(
      'approve',
      'rel-1',
      'approve-deploy',
      '--by',
      'ana',
      '--data-dir',
      dataDir,
    );
    expect(approved.code).toBe(0);
    expect(approved.out).toMatch(/troupe resume rel-1/);
    expect((await troupe('list', '--waiting', '--data-dir', dataDir)).out).toMatch(
      /No run is waiting/,
    );

    const result = await resume(dataDir, 'rel-1');
    expect(result.status).toBe('completed');
    expect(result.tasks['approve-deploy']?.output).toEqual({ approved: true, by: 'ana' });
    expect(result.tasks.deploy?.output).toBe('deployed');
  });

  it('reject with a reason, and signal with a JSON payload', async () => {
    const dataDir = await scratchDir();
    await waitingRun(dataDir, 'rel-2');
    const rejected = await troupe(
      'reject',
      'rel-2',
      'approve-deploy',
      '--reason',
      'change freeze',
      '--data-dir',
      dataDir,
    );
    expect(rejected.code).toBe(0);
    const result = await resume(dataDir, 'rel-2');
    expect(result.status).toBe('failed');
    expect(result.tasks['approve-deploy']?.error?.message).toMatch(/change freeze/);
    expect(result.tasks.deploy?.status).toBe('cancelled');

    await waitingRun(dataDir, 'rel-3');
    const signalled = await troupe(
      'signal',
      'rel-3',
      'approve-deploy',
      '--json',
      '{"approved":true}',
      '--json',
      '--data-dir',
      dataDir,
    );
    expect(signalled.code).toBe(0);
    expect(JSON.parse(signalled.out)).toMatchObject({ runId: 'rel-3', recorded: true });
    expect((await resume(dataDir, 'rel-3')).status).toBe('completed');

    const unknown = await troupe('approve', 'rel-3', 'approve-deploy', '--data-dir', dataDir);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/WAIT_NOT_FOUND|has ended/);
  });
});
