/**
 * Agents running at the same time in one workspace: write_file refuses a path
 * another running task holds, with a tool result naming the holder;
 * lock_path waits for it; a task's locks are released when it ends.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineLlmAgent, type LlmAgentOutput, workspaceTools } from '../../src/actors/llm/index.js';
import { createRuntime, defineAgent, TroupeError } from '../../src/index.js';
import { type ChatCall, type ChatReply, reply } from '../../src/testing/index.js';
import { onCleanup, tempDir, testClient, testServer } from './support.js';

/** A promise with its resolve function. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

describe('path locks', () => {
  it('write_file into a path another running task locked fails with a clear result; lock_path waits until that task ends', async () => {
    const backendLocked = signal();
    const frontendRefused = signal();
    const turns = (call: ChatCall) =>
      (call.body.messages ?? []).filter((m) => m.role === 'assistant').length;
    const model = async (call: ChatCall): Promise<ChatReply> => {
      const role = String(call.body.messages?.[0]?.content);
      const turn = turns(call);
      if (role === 'You are backend.') {
        if (turn === 0) return reply.toolCall('lock_path', { path: 'src/app.mjs' });
        if (turn === 1) {
          backendLocked.resolve();
          // Holds the lock until the frontend has been refused.
          await frontendRefused.promise;
          return reply.toolCall('write_file', { path: 'src/app.mjs', content: 'backend\n' });
        }
        return reply.text('Wrote src/app.mjs.');
      }
      if (turn === 0) {
        await backendLocked.promise;
        return reply.toolCall('write_file', { path: './src/app.mjs', content: 'frontend\n' });
      }
      if (turn === 1) {
        frontendRefused.resolve();
        return reply.toolCall('lock_path', { path: 'src/app.mjs', waitSeconds: 30 });
      }
      if (turn === 2) {
        return reply.toolCall('write_file', {
          path: 'src/app.mjs',
          content: 'frontend\n',
          append: true,
        });
      }
      return reply.text('Appended to src/app.mjs.');
    };
    const server = await testServer({ onChat: model });
    const workspace = await tempDir();
    const agent = (role: string) =>
      defineLlmAgent({
        role,
        systemPrompt: `You are ${role}.`,
        tools: workspaceTools(workspace),
        llm: testClient(server),
      });
    const rt = await createRuntime({
      dataDir: false,
      agents: [agent('backend'), agent('frontend')],
    });
    onCleanup(() => rt.close());

    const result = await rt.engine.execute({
      name: 'parallel',
      tasks: [
        { id: 'api', agent: 'backend' },
        { id: 'ui', agent: 'frontend' },
      ],
    });

    expect(result.status).toBe('completed');
    expect(await readFile(path.join(workspace, 'src/app.mjs'), 'utf8')).toBe('backend\nfrontend\n');
    const ui = result.tasks.ui!.output as LlmAgentOutput;
    expect(ui.toolCalls.map((c) => [c.name, c.ok])).toEqual([
      ['write_file', false],
      ['lock_path', true],
      ['write_file', true],
    ]);
    expect(ui.toolCalls[0]!.error).toBe(
      'write_file failed: write_file: "src/app.mjs" is locked by backend:api (role:task), which is working on it until its task ends. Write another path, or wait for it with lock_path and read the file before you change it.',
    );
    // The model got that as its tool result.
    const refusal = server.requests
      .map((r) => r.body as ChatCall['body'])
      .flatMap((b) => b.messages ?? [])
      .find((m) => m.role === 'tool' && String(m.content).includes('is locked by'));
    expect(String(refusal?.content)).toContain('backend:api');
    // The lock waited for the end of the backend's task.
    expect(result.tasks.ui!.finishedAt).toBeGreaterThanOrEqual(result.tasks.api!.finishedAt!);
    expect(await rt.communicator.getLocks(result.workflowId)).toEqual([]);
  });

  it('ctx.lock: held until the attempt ends, completed or failed, then free for the next task', async () => {
    const rt = await createRuntime({
      dataDir: false,
      agents: [
        defineAgent({
          role: 'writer',
          async run(task, ctx) {
            await ctx.lock('report.md', { timeoutMs: 0 });
            await ctx.lock('report.md'); // taking it again costs nothing
            if (task.id === 'fails') throw new TroupeError('TASK_FAILED', 'gave up');
            return 'ok';
          },
        }),
      ],
    });
    onCleanup(() => rt.close());
    const failed = await rt.engine.execute({
      name: 'locks',
      tasks: [{ id: 'fails', agent: 'writer' }],
    });
    expect(failed.tasks.fails!.status).toBe('failed');
    expect(await rt.communicator.getLocks(failed.workflowId)).toEqual([]);
    const result = await rt.engine.execute({
      name: 'locks',
      tasks: [
        { id: 'first', agent: 'writer' },
        { id: 'second', agent: 'writer', dependsOn: ['first'] },
      ],
    });
    // The second task took the lock without waiting: the first released it when it completed.
    expect(result.tasks.second!.status).toBe('completed');
    expect(await rt.communicator.getLocks(result.workflowId)).toEqual([]);
  });
});
