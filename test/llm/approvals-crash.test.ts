/**
 * An approval of a tool call survives the process: the run waits for a
 * person, the process is SIGKILLed, and a new process continues. Counter
 * files outside the processes and the test server's request log prove that
 * the model is not asked again for the turn that made the call, and that the
 * tool runs exactly once, after the answer.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { WorkflowResult } from '../../src/index.js';
import { fault, reply } from '../../src/testing/index.js';
import { capture } from '../cli/support.js';
import { scratchDir, useScratch } from '../durability/helpers.js';
import { bundleFixture, killAll, Worker } from '../durability/processes.js';
import { testServer } from './support.js';

useScratch();
afterEach(killAll);

let fixture: Awaited<ReturnType<typeof bundleFixture>>;
beforeAll(async () => {
  fixture = await bundleFixture('llm-approval-worker');
}, 60_000);
afterAll(() => fixture?.remove());

async function pids(counterDir: string): Promise<number[]> {
  const text = await readFile(join(counterDir, 'deploy'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map(Number);
}

interface Output {
  content: string;
  toolCalls: Array<{ name: string; ok: boolean; approval?: string }>;
}

describe('a tool approval across SIGKILL', () => {
  it('killed while waiting: the new process waits again without asking the model, and runs the tool once after the answer', async () => {
    const server = await testServer({
      chat: [reply.toolCall('deploy', { version: 'v2' }), reply.text('Deployed v2.')],
    });
    const dataDir = await scratchDir();
    const counterDir = await scratchDir('troupe-counters-');
    const args = [dataDir, server.url, counterDir];

    const first = new Worker(fixture.file, [...args, 'start', 'ship-1']);
    const waiting = await first.waitFor('waiting');
    expect(waiting.prompt).toBe(
      'agent "deployer", task "ship" wants to call deploy with {"version":"v2"}. Approve?',
    );
    await first.kill();
    expect(await pids(counterDir)).toEqual([]);
    expect(server.calls()).toBe(1);

    const resumed = new Worker(fixture.file, [...args, 'resume', 'ship-1']);
    const { result } = (await resumed.waitFor('result')) as unknown as { result: WorkflowResult };
    await resumed.finished();

    expect(result.status).toBe('completed');
    const output = result.tasks.ship!.output as Output;
    expect(output.content).toBe('Deployed v2.');
    expect(output.toolCalls).toEqual([
      expect.objectContaining({ name: 'deploy', ok: true, approval: 'approved' }),
    ]);
    // The turn that asked for the call was replayed from the journal.
    expect(server.calls()).toBe(2);
    expect(resumed.signals.filter((s) => s.signal === 'waiting')).toHaveLength(1);
    expect(await pids(counterDir)).toEqual([resumed.pid]);
    expect(result.tasks.ship?.attempts).toBe(1);
  }, 90_000);

  it('killed after the approved call ran: the new process neither asks nor runs it again', async () => {
    const server = await testServer({
      chat: [reply.toolCall('deploy', { version: 'v3' }), fault.hang(), reply.text('Deployed v3.')],
    });
    const dataDir = await scratchDir();
    const counterDir = await scratchDir('troupe-counters-');
    const args = [dataDir, server.url, counterDir];

    const first = new Worker(fixture.file, [...args, 'approve-here', 'ship-2']);
    await first.waitFor('journaled');
    await server.waitForCalls(2, 'chat', 30_000);
    await first.kill();
    expect(await pids(counterDir)).toEqual([first.pid]);

    const resumed = new Worker(fixture.file, [...args, 'resume', 'ship-2']);
    const { result } = (await resumed.waitFor('result')) as unknown as { result: WorkflowResult };
    await resumed.finished();

    expect(result.status).toBe('completed');
    expect((result.tasks.ship!.output as Output).content).toBe('Deployed v3.');
    expect(resumed.signals.filter((s) => s.signal === 'waiting')).toEqual([]);
    expect(resumed.signals.filter((s) => s.signal === 'executed')).toEqual([]);
    expect(await pids(counterDir)).toEqual([first.pid]);
    // Turn 1 (replayed), turn 2 (hung in the first process), turn 2 again.
    expect(server.calls()).toBe(3);
  }, 90_000);

  it.each([
    ['approve', 'Deployed v4.', 'approved', 1],
    ['reject', 'I did not deploy v4.', 'rejected', 0],
  ] as const)(
    'answered with troupe %s while no process runs it: the resumed run does not wait again',
    async (command, answer, approval, executions) => {
      const server = await testServer({
        chat: [reply.toolCall('deploy', { version: 'v4' }), reply.text(answer)],
      });
      const dataDir = await scratchDir();
      const counterDir = await scratchDir('troupe-counters-');
      const args = [dataDir, server.url, counterDir];
      const workflowId = `ship-${command}`;

      const first = new Worker(fixture.file, [...args, 'start', workflowId]);
      const { name } = await first.waitFor('waiting');
      await first.kill();

      const out = capture();
      const err = capture();
      const argv = [command, workflowId, String(name), '--data-dir', dataDir];
      const code = await main(command === 'approve' ? [...argv, '--by', 'ana'] : argv, {
        out,
        err,
      });
      expect(err.text()).toBe('');
      expect(code).toBe(0);

      const resumed = new Worker(fixture.file, [...args, 'resume', workflowId]);
      const { result } = (await resumed.waitFor('result')) as unknown as { result: WorkflowResult };
      await resumed.finished();
      expect(result.status).toBe('completed');
      const output = result.tasks.ship!.output as Output;
      expect(output.content).toBe(answer);
      expect(output.toolCalls).toEqual([expect.objectContaining({ name: 'deploy', approval })]);
      expect(resumed.signals.filter((s) => s.signal === 'waiting')).toEqual([]);
      expect(await pids(counterDir)).toEqual(executions === 1 ? [resumed.pid] : []);
      expect(server.calls()).toBe(2);
    },
    90_000,
  );
});
