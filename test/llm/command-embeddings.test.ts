import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Workspace, workspaceTools } from '../../src/actors/llm/index.js';
import { fault } from '../../src/testing/index.js';
import { tempDir, testClient, testServer, toolContext } from './support.js';

async function commandTool(
  options: { commandTimeoutMs?: number; maxCommandOutputBytes?: number } = {},
) {
  const root = await tempDir();
  const workspace = new Workspace({
    root,
    allowedCommands: [process.execPath, 'definitely-not-installed-xyz'],
    ...options,
  });
  const tool = workspaceTools(workspace).find((t) => t.name === 'run_command')!;
  return { root, tool, call: (args: unknown) => tool.call(JSON.stringify(args), toolContext()) };
}

const SECRET = 'TROUPE_TEST_SECRET';
afterEach(() => {
  delete process.env[SECRET];
});

describe('run_command', () => {
  it('runs an allowed program with argv in the workspace, without troupe’s secrets', async () => {
    process.env[SECRET] = 'hunter2';
    const { root, call } = await commandTool();
    const outcome = await call({
      command: process.execPath,
      args: [
        '-e',
        `console.log(process.cwd()); console.log(process.env.${SECRET} ?? 'unset'); process.exit(3)`,
      ],
    });
    expect(outcome.ok).toBe(true);
    const result = (outcome as { result: { stdout: string; exitCode: number } }).result;
    const [cwd, secret] = result.stdout.trim().split('\n');
    expect(await realpath(cwd!)).toBe(await realpath(root));
    expect(secret).toBe('unset');
    expect(result.exitCode).toBe(3);
  });

  it('refuses programs not on the list, and shell syntax is just an argument', async () => {
    const { call } = await commandTool();
    expect(await call({ command: 'rm', args: ['-rf', '/'] })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/"rm" is not an allowed command/),
    });
    const echoed = await call({
      command: process.execPath,
      args: ['-e', 'console.log(process.argv[1])', '; rm -rf /'],
    });
    expect((echoed as { result: { stdout: string } }).result.stdout.trim()).toBe('; rm -rf /');
    expect(await call({ command: 'definitely-not-installed-xyz' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/could not be started \(ENOENT\)/),
    });
    expect(await call({ command: process.execPath, cwd: '../' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/climbs out/),
    });
  });

  it('kills a command at its timeout', async () => {
    const { call } = await commandTool({ commandTimeoutMs: 300 });
    const outcome = await call({
      command: process.execPath,
      args: ['-e', 'setTimeout(() => {}, 60000)'],
    });
    expect(outcome).toMatchObject({ ok: true, result: { timedOut: true, signal: 'SIGKILL' } });
  });

  it('caps its output', async () => {
    const { call } = await commandTool({ maxCommandOutputBytes: 10 });
    const outcome = await call({
      command: process.execPath,
      args: ['-e', "process.stdout.write('x'.repeat(100))"],
    });
    expect(outcome).toMatchObject({
      ok: true,
      result: { timedOut: false, truncated: true, stdout: 'x'.repeat(10), exitCode: 0 },
    });
  });
});

describe('generate_embeddings', () => {
  it('embeds through the test server, saves to the workspace and counts the tokens', async () => {
    const server = await testServer({ embeddingDimensions: 3 });
    const root = await tempDir();
    const llm = testClient(server, { embeddingModel: 'test-embedding' });
    const tool = workspaceTools(root, { embeddings: llm }).find(
      (t) => t.name === 'generate_embeddings',
    )!;
    const ctx = toolContext();

    const inline = await tool.call(JSON.stringify({ texts: ['planning', 'search'] }), ctx);
    expect(inline).toMatchObject({ ok: true, result: { count: 2, dimensions: 3 } });
    const vectors = (inline as { result: { embeddings: number[][] } }).result.embeddings;
    expect(vectors).toHaveLength(2);

    const saved = await tool.call(
      JSON.stringify({ texts: ['planning'], outFile: 'vectors/e.json' }),
      ctx,
    );
    expect(saved).toMatchObject({ ok: true, result: { file: 'vectors/e.json', count: 1 } });
    const file = JSON.parse(await readFile(path.join(root, 'vectors/e.json'), 'utf8'));
    expect(file).toEqual([{ text: 'planning', embedding: vectors[0] }]);

    expect(server.calls('embeddings')).toBe(2);
    expect((server.requests[0]!.body as { encoding_format: string }).encoding_format).toBe('float');
    expect(ctx.usage).toHaveLength(2);
  });

  it('reports a server failure as a tool error', async () => {
    const server = await testServer({ embeddings: [fault.serverError()] });
    const tool = workspaceTools(await tempDir(), { embeddings: testClient(server) }).find(
      (t) => t.name === 'generate_embeddings',
    )!;
    expect(await tool.call('{"texts":["a"]}', toolContext())).toMatchObject({
      ok: false,
      error: expect.stringMatching(/generate_embeddings failed: .*HTTP 500/),
    });
  });
});
