/**
 * run_command kills the whole process group of a command: a real shell
 * script starts a grandchild (`sleep 30 &`) and writes its pid to a file; the
 * grandchild must be gone after the timeout, after a cancel, after the
 * command exits on its own, and when the runtime closes mid-command.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineLlmAgent, Workspace, workspaceTools } from '../../src/actors/llm/index.js';
import { createRuntime } from '../../src/index.js';
import { reply } from '../../src/testing/index.js';
import { onCleanup, tempDir, testClient, testServer, toolContext } from './support.js';

/** Starts `sleep 30` in the background, records its pid, then waits for it. */
const SCRIPT = '#!/bin/sh\nsleep 30 &\necho $! > "$1"\nwait\n';
/** The same, but exits at once and leaves the sleep behind. */
const LEAVER = '#!/bin/sh\nsleep 30 &\necho $! > "$1"\n';

/** Alive = has a /proc entry that is not a zombie (a zombie has ended; only its parent's wait is missing). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Polls a real process for up to `ms`: SIGKILL is delivered at once, but the exit is asynchronous. */
async function gone(pid: number, ms = 5_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return !alive(pid);
}

async function pidFrom(file: string, ms = 10_000): Promise<number> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (existsSync(file)) {
      const text = (await readFile(file, 'utf8')).trim();
      if (text !== '') return Number(text);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no pid written to ${file}`);
}

async function fixture(options: { commandTimeoutMs?: number } = {}) {
  const root = await tempDir();
  const script = path.join(root, 'spawn.sh');
  const leaver = path.join(root, 'leave.sh');
  await writeFile(script, SCRIPT);
  await writeFile(leaver, LEAVER);
  await chmod(script, 0o755);
  await chmod(leaver, 0o755);
  const workspace = new Workspace({ root, allowedCommands: [script, leaver], ...options });
  const tool = workspaceTools(workspace).find((t) => t.name === 'run_command')!;
  const pidFile = path.join(root, 'grandchild.pid');
  // Whatever a failing test leaves running is killed with it.
  onCleanup(async () => {
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8'));
    if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
  });
  return { root, script, leaver, tool, pidFile, workspace };
}

describe('run_command process groups', () => {
  it('kills the grandchildren too when the command times out', async () => {
    const { tool, script, pidFile } = await fixture({ commandTimeoutMs: 500 });
    const outcome = await tool.call(
      JSON.stringify({ command: script, args: [pidFile] }),
      toolContext(),
    );
    expect(outcome).toMatchObject({ ok: true, result: { timedOut: true, signal: 'SIGKILL' } });
    const grandchild = await pidFrom(pidFile);
    expect(await gone(grandchild)).toBe(true);
  });

  it('kills the grandchildren too when the task is cancelled', async () => {
    const { tool, script, pidFile } = await fixture();
    const ctx = toolContext();
    const controller = new AbortController();
    ctx.signal = controller.signal;
    const call = tool.call(JSON.stringify({ command: script, args: [pidFile] }), ctx);
    const grandchild = await pidFrom(pidFile);
    expect(alive(grandchild)).toBe(true);
    controller.abort(new Error('cancelled by the test'));
    await expect(call).rejects.toThrow('cancelled by the test');
    expect(await gone(grandchild)).toBe(true);
  });

  it('kills what a command left running in the background when it exits', async () => {
    const { tool, leaver, pidFile } = await fixture();
    const started = Date.now();
    const outcome = await tool.call(
      JSON.stringify({ command: leaver, args: [pidFile] }),
      toolContext(),
    );
    // Not held open by the sleep's copy of stdout until it ends.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(outcome).toMatchObject({ ok: true, result: { exitCode: 0, timedOut: false } });
    expect(await gone(await pidFrom(pidFile))).toBe(true);
  });

  it('leaves no orphan when the runtime closes during a command', async () => {
    const { root, script, pidFile } = await fixture();
    const server = await testServer({
      chat: [reply.toolCall('run_command', { command: script, args: [pidFile] }), reply.text('x')],
    });
    const agent = defineLlmAgent({
      role: 'ops',
      systemPrompt: 'You run scripts.',
      tools: workspaceTools(new Workspace({ root, allowedCommands: [script] })),
      llm: testClient(server),
    });
    const rt = await createRuntime({ dataDir: false, agents: [agent] });
    const result = rt.engine.execute({
      name: 'orphans',
      tasks: [{ id: 'run', agent: 'ops', description: 'Run the script.' }],
    });
    result.catch(() => undefined);
    const grandchild = await pidFrom(pidFile);
    expect(alive(grandchild)).toBe(true);
    await rt.close();
    expect(await gone(grandchild)).toBe(true);
  });
});
