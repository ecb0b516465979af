/**
 * MCP servers from troupe.config.*: `troupe run` with a model, started as a
 * user would in a folder whose config exports `mcp`, gives the built-in
 * specialists the servers' tools, stops the stdio server when the run ends,
 * and a config whose `mcp` export is wrong stops the command naming it.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type ChatRequestBody, reply } from '../../src/testing/index.js';
import { TSX, troupe } from '../cli/support.js';
import { tempDir, testServer } from './support.js';

const DOCS_SERVER = fileURLToPath(new URL('../fixtures/mcp-docs-server.ts', import.meta.url));
const PLAN = {
  name: 'answer',
  tasks: [{ id: 'guide', agent: 'docs', description: 'How do retries work?' }],
};

const toolReplies = (body: ChatRequestBody) =>
  (body.messages ?? []).filter((m) => m.role === 'tool').map((m) => String(m.content));

async function folder(config: string): Promise<string> {
  const dir = await tempDir();
  await writeFile(path.join(dir, 'troupe.config.mjs'), config);
  await writeFile(path.join(dir, 'plan.json'), JSON.stringify(PLAN));
  return dir;
}

const runArgs = (url: string) => [
  'run',
  '--plan',
  'plan.json',
  '--base-url',
  url,
  '--model',
  'test-model',
  '--skip-preflight',
  '--no-stream',
];
const env = { OPENAI_API_KEY: '', OPENAI_BASE_URL: '', TROUPE_MODEL: '' };

describe('MCP servers in troupe.config', () => {
  it('troupe run gives the specialists the tools of the servers in the config’s mcp export, and exits when done', async () => {
    const server = await testServer({
      chat: [
        reply.toolCall('docs__search', { query: 'retries' }),
        ({ body }) => reply.text(`From the docs: ${toolReplies(body).join(' | ')}`),
      ],
    });
    const cwd = await folder(
      `export const mcp = {
  servers: [{ name: 'docs', command: ${JSON.stringify(process.execPath)}, args: ['--import', ${JSON.stringify(TSX)}, ${JSON.stringify(DOCS_SERVER)}] }],
};
`,
    );
    // The process ends by itself: the stdio server it started is stopped with the runtime.
    const { code, out, err } = await troupe(runArgs(server.url), { cwd, env });
    expect(err).toBe('');
    expect(code).toBe(0);
    const first = server.requests[0]!.body as ChatRequestBody;
    expect(first.tools?.map((t) => t.function?.name)).toEqual(
      expect.arrayContaining(['read_file', 'write_file', 'docs__search', 'docs__stats']),
    );
    const answer = toolReplies(server.requests[1]!.body as ChatRequestBody);
    expect(answer).toEqual([
      expect.stringContaining('retries: Tasks retry with exponential backoff'),
    ]);
    expect(out).toContain('From the docs: retries: Tasks retry with exponential backoff');
  }, 60_000);

  it('a wrong mcp export stops the command with CONFIG_ERROR naming the file, before any model call', async () => {
    const server = await testServer();
    const cwd = await folder(`export const mcp = { servers: [{ name: 'docs' }] };\n`);
    const { code, err } = await troupe(runArgs(server.url), { cwd, env });
    expect(code).not.toBe(0);
    expect(err).toContain('troupe.config.mjs');
    expect(err).toContain('mcp');
    expect(server.calls()).toBe(0);
  }, 60_000);
});
