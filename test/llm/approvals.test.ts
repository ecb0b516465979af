/**
 * Approval of dangerous tool calls (issue 16, item 5): calls wait durably
 * for a person through the waits machinery, an allow-list lets routine calls
 * through, and a rejection goes back to the model as a tool error.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { z } from 'zod';
import {
  type ApprovalOptions,
  defineLlmAgent,
  defineTool,
  type LlmAgentOutput,
  type LlmEvent,
  workspaceTools,
} from '../../src/actors/llm/index.js';
import { approvalPolicy } from '../../src/actors/llm/tool-approval.js';
import { createRuntime, type EngineEvent, type Runtime } from '../../src/index.js';
import { type ChatRequestBody, type OpenAiTestServer, reply } from '../../src/testing/index.js';
import { expectTroupeError } from '../core/helpers.js';
import { onCleanup, tempDir, testClient, testServer } from './support.js';

async function setup(
  server: OpenAiTestServer,
  approvals: ApprovalOptions | undefined,
  options: { clock?: SimulatedClock } = {},
) {
  const root = await tempDir('troupe-approve-ws-');
  const agent = defineLlmAgent({
    role: 'coder',
    systemPrompt: 'You write code.',
    tools: workspaceTools({ root, allowedCommands: ['node'] }),
    llm: testClient(server),
    ...(approvals ? { approvals } : {}),
  });
  const rt: Runtime = await createRuntime({
    dataDir: await tempDir('troupe-approve-data-'),
    agents: [agent],
    ...(options.clock ? { clock: options.clock } : {}),
  });
  onCleanup(() => rt.close());
  const events: EngineEvent[] = [];
  rt.engine.on('*', (event) => {
    events.push(event);
  });
  const handle = await rt.engine.start({
    name: 'code',
    tasks: [{ id: 'code', agent: 'coder', description: 'Write the files.' }],
  });
  const waiting = () =>
    new Promise<Extract<EngineEvent, { type: 'task.waiting' }>>((resolve) => {
      const found = events.find((e) => e.type === 'task.waiting');
      if (found?.type === 'task.waiting') resolve(found);
      const stop = rt.engine.on('task.waiting', (event) => {
        stop();
        resolve(event);
      });
    });
  return { rt, root, events, handle, waiting };
}

const toolMessages = (body: ChatRequestBody | undefined) =>
  (body?.messages ?? []).filter((m) => m.role === 'tool').map((m) => String(m.content));

describe('tool approvals', () => {
  it('asks a person for a call no rule allows, lets routine calls through, and runs the call once approved', async () => {
    const server = await testServer({
      chat: [
        reply.toolCalls([
          { name: 'write_file', arguments: { path: 'src/app.ts', content: 'export {};\n' } },
          { name: 'write_file', arguments: { path: 'README.md', content: '# App\n' } },
          { name: 'run_command', arguments: { command: 'node', args: ['--version'] } },
        ]),
        reply.text('Wrote src/app.ts and README.md.'),
      ],
    });
    const { rt, root, events, handle, waiting } = await setup(server, {
      allow: [
        { tool: 'write_file', path: 'src/**' },
        { tool: 'run_command', command: /^node --version$/ },
      ],
    });

    const wait = await waiting();
    expect(wait.name).toBe('code:write_file:0.1.1');
    expect(wait.prompt).toBe(
      'agent "coder", task "code" wants to call write_file with {"path":"README.md","content":"# App\\n"}. Approve?',
    );
    expect(wait.schema).toMatchObject({ required: ['approved'] });
    // The allowed call before it ran; the waiting one did not, nor the one after it.
    expect(await readFile(path.join(root, 'src/app.ts'), 'utf8')).toBe('export {};\n');
    expect(existsSync(path.join(root, 'README.md'))).toBe(false);
    expect((await rt.engine.waiting())[0]?.waits.map((w) => w.name)).toEqual([wait.name]);

    await rt.engine.signal(handle.workflowId, wait.name, { approved: true, by: 'ana' });
    const result = await handle.result;

    expect(result.status).toBe('completed');
    expect(await readFile(path.join(root, 'README.md'), 'utf8')).toBe('# App\n');
    const output = result.tasks.code!.output as LlmAgentOutput;
    expect(output.toolCalls.map((c) => [c.name, c.ok, c.approval])).toEqual([
      ['write_file', true, 'allowed'],
      ['write_file', true, 'approved'],
      ['run_command', true, 'allowed'],
    ]);
    const calls = events.filter((e): e is LlmEvent => e.type === 'llm.tool_call');
    expect(calls.map((e) => (e.type === 'llm.tool_call' ? e.approval : undefined))).toEqual([
      'allowed',
      'ask',
      'allowed',
    ]);
    expect(server.calls()).toBe(2);
  });

  it('sends a rejection back to the model as a tool error; the task goes on and completes', async () => {
    const server = await testServer({
      chat: [
        reply.toolCall('write_file', { path: 'deploy.sh', content: 'rm -rf /\n' }),
        reply.text('I did not write deploy.sh: it was rejected.'),
      ],
    });
    const { root, events, handle, rt, waiting } = await setup(server, {});
    const wait = await waiting();
    await rt.engine.signal(handle.workflowId, wait.name, {
      approved: false,
      reason: 'not on a Friday',
      by: 'ana',
    });
    const result = await handle.result;

    expect(result.status).toBe('completed');
    expect(existsSync(path.join(root, 'deploy.sh'))).toBe(false);
    const [reply2] = toolMessages(server.requests[1]?.body as ChatRequestBody);
    expect(reply2).toContain('write_file: the call was rejected by ana: not on a Friday');
    const output = result.tasks.code!.output as LlmAgentOutput;
    expect(output.toolCalls).toEqual([
      expect.objectContaining({ name: 'write_file', ok: false, approval: 'rejected' }),
    ]);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'llm.tool_result', name: 'write_file', rejected: true }),
    );
  });

  it('counts a deadline that passes as a rejection (injected clock)', async () => {
    const clock = new SimulatedClock();
    const server = await testServer({
      chat: [
        reply.toolCall('run_command', { command: 'node', args: ['-e', '1'] }),
        reply.text('Nobody approved; I stopped.'),
      ],
    });
    const { handle, waiting } = await setup(server, { timeoutMs: 60_000 }, { clock });
    const wait = await waiting();
    expect(wait.deadline).toBe(60_000);
    clock.increment(60_000);
    const result = await handle.result;
    expect(result.status).toBe('completed');
    const [toolReply] = toolMessages(server.requests[1]?.body as ChatRequestBody);
    expect(toolReply).toContain('rejected: nobody answered within 60000 ms');
  });
});

describe('approval policy', () => {
  const tool = (name: string, needsApproval = false) =>
    defineTool({
      name,
      description: name,
      input: z.object({}).passthrough(),
      needsApproval,
      handler: () => 'ok',
    });
  const writeFile = tool('write_file');
  const deploy = tool('deploy', true);
  const search = tool('docs__search');

  it('asks for write_file, run_command and needsApproval tools by default; only needsApproval tools without the option', () => {
    const on = approvalPolicy({}, [writeFile, deploy, search], 'test');
    expect(on.decide(writeFile, '{"path":"a"}')).toBe('ask');
    expect(on.decide(deploy, '{}')).toBe('ask');
    expect(on.decide(search, '{}')).toBe('none');
    const off = approvalPolicy(undefined, [writeFile, deploy], 'test');
    expect(off.decide(writeFile, '{"path":"a"}')).toBe('none');
    expect(off.decide(deploy, '{}')).toBe('ask');
    expect(approvalPolicy(undefined, [writeFile], 'test').mayAsk).toBe(false);
    // MCP tools are named like any other.
    const named = approvalPolicy({ tools: ['docs__search'] }, [search], 'test');
    expect(named.decide(search, '{}')).toBe('ask');
  });

  it('matches paths by glob (normalised, never through ..), commands by RegExp, and custom tests', () => {
    const policy = approvalPolicy(
      {
        allow: [
          { tool: 'write_file', path: 'src/**/*.ts' },
          { tool: 'write_file', path: 'docs/*.md' },
          { tool: 'deploy', when: (args) => args.env === 'staging' },
        ],
      },
      [writeFile, deploy],
      'test',
    );
    const write = (p: string) => policy.decide(writeFile, JSON.stringify({ path: p }));
    expect(write('src/a.ts')).toBe('allowed');
    expect(write('./src/lib/deep/b.ts')).toBe('allowed');
    expect(write('src/a.js')).toBe('ask');
    expect(write('src/../etc/passwd.ts')).toBe('ask');
    expect(write('docs/guide.md')).toBe('allowed');
    expect(write('docs/api/guide.md')).toBe('ask');
    expect(policy.decide(writeFile, 'not json')).toBe('ask');
    expect(policy.decide(deploy, '{"env":"staging"}')).toBe('allowed');
    expect(policy.decide(deploy, '{"env":"production"}')).toBe('ask');
  });

  it('refuses bad options with INVALID_INPUT naming the field', async () => {
    const error = await expectTroupeError(
      () =>
        defineLlmAgent({
          role: 'x',
          systemPrompt: 'x',
          llm: { baseURL: 'http://127.0.0.1:9/v1', apiKey: 'k', model: 'm' },
          approvals: { allow: [{ tool: 'run_command', command: '^npm' as unknown as RegExp }] },
        }),
      'INVALID_INPUT',
    );
    expect(error.message).toContain('approvals.allow[0].command: must be a RegExp');
  });
});
