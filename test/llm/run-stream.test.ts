/**
 * `troupe run` prints the LLM agents' answers as they are written, with
 * their tool calls (`--stream`, the default on a terminal), and not with
 * `--no-stream` or when its output is not a terminal; usage per agent.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { type ChatCall, type ChatReply, reply } from '../../src/testing/index.js';
import { capture } from '../cli/support.js';
import { tempDir, testServer } from './support.js';

const PLAN = {
  rationale: 'one task',
  tasks: [{ id: 'api', agent: 'backend', description: 'Write the endpoint.', dependsOn: [] }],
};
const ANSWER = 'I wrote src/search.ts with the POST /api/search endpoint and its input checks.';

function scriptedModel(call: ChatCall): ChatReply {
  const { body } = call;
  if (body.response_format) return reply.json(PLAN);
  if (body.messages?.at(-1)?.role === 'tool') return reply.text(ANSWER, { chunkSize: 5 });
  return reply.toolCall('write_file', { path: 'src/search.ts', content: 'export {};\n' });
}

async function run(flags: string[]) {
  const server = await testServer({ onChat: scriptedModel });
  const dir = await tempDir();
  const out = capture();
  const err = capture();
  const code = await main(
    [
      'run',
      'Create a search API',
      '--base-url',
      server.url,
      '--model',
      'test-model',
      '--workspace',
      path.join(dir, 'ws'),
      '--data-dir',
      path.join(dir, 'data'),
      ...flags,
    ],
    { out, err },
  );
  return { code, out: out.text(), err: err.text() };
}

describe('troupe run: live answers', () => {
  it('--stream prints each answer as it is written, with the tool calls, before the report', async () => {
    const { code, out, err } = await run(['--stream']);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain('→ api: write_file {"path":"src/search.ts","content":"export {};\\n"}\n');
    expect(out).toContain('← api: write_file ok\n');
    expect(out).toContain(`── api (backend), turn 2\n${ANSWER}\n`);
    // Live, then the report: the streamed text comes before the answers section.
    expect(out.indexOf(`turn 2\n${ANSWER}`)).toBeLessThan(out.indexOf('Answers\n'));
    expect(out).toMatch(/By agent\n.*\n.*\nbackend\s+2\s+0/);
  });

  it('prints no live answers with --no-stream, nor by default when the output is not a terminal', async () => {
    for (const flags of [['--no-stream'], []]) {
      const { code, out } = await run(flags);
      expect(code).toBe(0);
      expect(out).not.toContain('── api (backend)');
      expect(out).not.toContain('→ api: write_file');
      expect(out).toContain(`api: ${ANSWER}`);
    }
  });

  it('refuses --stream with --no-stream', async () => {
    const { code, err } = await run(['--stream', '--no-stream']);
    expect(code).toBe(2);
    expect(err).toContain('give --stream or --no-stream, not both');
  });
});
