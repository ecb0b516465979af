/**
 * No model call is repeated after a crash: a process running an LLM workflow
 * (test/fixtures/llm-durable-worker.ts) against an OpenAI test server in this
 * process is killed with SIGKILL once t1 has completed and t2's first model
 * answer (a tool call) is being acted on. A new process resumes the run; the
 * server's call log shows no call for t1 (its completion, answer included, is
 * journaled) and none for t2's first turn (served from the store's response
 * cache), only t2's second turn.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LlmAgentOutput, WorkflowResult } from '../../src/index.js';
import { type ChatCall, reply, startOpenAiTestServer } from '../../src/testing/index.js';
import { durableProgress, readStoredRun, scratchDir, useScratch } from './helpers.js';
import { bundleFixture, killAll, Worker } from './processes.js';

useScratch();
afterEach(killAll);

let fixture: Awaited<ReturnType<typeof bundleFixture>>;
beforeAll(async () => {
  fixture = await bundleFixture('llm-durable-worker');
}, 60_000);
afterAll(() => fixture?.remove());

/** Which model call a request is: `t1`, `t2 turn 1` or `t2 turn 2`. */
function callOf({ body }: Pick<ChatCall, 'body'>): string {
  const messages = body.messages ?? [];
  const user = JSON.stringify(messages.find((m) => m.role === 'user')?.content ?? '');
  const task = user.includes('TASK t1') ? 't1' : user.includes('TASK t2') ? 't2' : '?';
  if (task !== 't2') return task;
  return messages.some((m) => m.role === 'tool') ? 't2 turn 2' : 't2 turn 1';
}

describe('LLM work is not repeated after a crash', () => {
  it('a resumed run makes no model call for the finished task, nor for a turn already answered', async () => {
    const calls: string[] = [];
    const server = await startOpenAiTestServer({
      onChat: (call) => {
        const which = callOf(call);
        calls.push(which);
        if (which === 't1') return reply.text('answer of t1');
        if (which === 't2 turn 1') return reply.toolCall('wait_here', {});
        return reply.text('answer of t2');
      },
    });
    try {
      const dataDir = await scratchDir();
      const workflowId = 'wf-llm-crash';

      const killed = new Worker(fixture.file, [dataDir, server.url, 'start', workflowId]);
      const tool = await killed.waitFor('tool');
      expect(tool).toMatchObject({ key: `${workflowId}:t2`, attempt: 1, turn: 1 });
      await killed.kill();
      expect(calls).toEqual(['t1', 't2 turn 1']);

      const stored = await readStoredRun(dataDir, workflowId);
      expect([...durableProgress(stored).completed]).toEqual(['t1']);

      const resumed = new Worker(fixture.file, [dataDir, server.url, 'resume', workflowId]);
      const result = (await resumed.waitFor('result')).result as WorkflowResult;
      await resumed.finished();

      // After the crash: only t2's second turn reached the model.
      expect(calls).toEqual(['t1', 't2 turn 1', 't2 turn 2']);
      expect(server.calls('chat')).toBe(3);
      expect(resumed.signals.filter((s) => s.signal === 'completed').map((s) => s.taskId)).toEqual([
        't2',
      ]);
      expect(result.status).toBe('completed');
      const t1 = result.tasks.t1?.output as LlmAgentOutput;
      const t2 = result.tasks.t2?.output as LlmAgentOutput;
      expect(t1.content).toBe('answer of t1');
      expect(t2).toMatchObject({
        content: 'answer of t2',
        turns: 2,
        toolCalls: [expect.objectContaining({ name: 'wait_here', ok: true })],
      });
      expect(t2.usage).toMatchObject({ requests: 1, cached: 1 });
      // The re-run was the same attempt of the same task.
      expect(resumed.signals.find((s) => s.signal === 'tool')).toMatchObject({
        key: `${workflowId}:t2`,
        attempt: 1,
        turn: 1,
      });
    } finally {
      await server.close();
    }
  });
});
