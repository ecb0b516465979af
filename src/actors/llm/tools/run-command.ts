import { type ChildProcess, spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { TroupeError } from '../../../errors.js';
import { defineTool, type LlmTool } from '../define-tool.js';
import type { Workspace } from './workspace.js';

/** The only variables of troupe's own environment a command sees; API keys stay out. */
const PASSED_ENV = ['PATH', 'HOME', 'LANG', 'TMPDIR', 'SystemRoot'] as const;

const input = z.object({
  command: z.string().min(1).describe('Program to run; must be one of the allowed commands.'),
  args: z
    .array(z.string())
    .optional()
    .describe('Arguments, one string each; no shell is involved.'),
  cwd: z
    .string()
    .optional()
    .describe('Folder to run in, relative to the workspace root (default ".").'),
});

export interface CommandResult {
  command: string;
  args: string[];
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  truncated: boolean;
}

/**
 * `run_command`: runs an allowed program with an argument list (never a
 * shell, so no pipes, globs or `;`), in a workspace folder, with a time limit
 * and capped output. A non-zero exit is a result for the model, not an error.
 * The arguments are not path-checked: allow only programs you trust with
 * arbitrary arguments.
 */
export function runCommandTool(workspace: Workspace): LlmTool {
  const { allowedCommands, commandTimeoutMs, maxCommandOutputBytes } = workspace.options;
  const allowed = new Set(allowedCommands);
  const list = [...allowed].join(', ');
  return defineTool({
    name: 'run_command',
    description: `Run a program in the workspace without a shell: {"command": "...", "args": [...]}. Allowed commands: ${list}. Killed after ${commandTimeoutMs} ms; output capped at ${maxCommandOutputBytes} bytes per stream.`,
    input,
    async handler({ command, args = [], cwd = '.' }, ctx) {
      if (!allowed.has(command)) {
        throw new TroupeError(
          'INVALID_INPUT',
          `run_command: ${JSON.stringify(command)} is not an allowed command; allowed: ${list || '(none)'}.`,
          { command },
        );
      }
      const folder = await workspace.resolve(cwd, 'run_command');
      if (!(await stat(folder.absolute).catch(() => undefined))?.isDirectory()) {
        throw new TroupeError(
          'INVALID_INPUT',
          `run_command: cwd ${JSON.stringify(folder.relative)} is not a folder of the workspace.`,
          { path: folder.relative },
        );
      }
      return run(command, args, folder.absolute, workspace, ctx.signal);
    },
    effect: (_, result) => {
      const { command, args, exitCode, timedOut } = result as CommandResult;
      return { kind: 'command', command: [command, ...args].join(' '), exitCode, timedOut };
    },
  });
}

function run(
  command: string,
  args: string[],
  cwd: string,
  workspace: Workspace,
  signal: AbortSignal,
): Promise<CommandResult> {
  const { commandTimeoutMs, maxCommandOutputBytes, commandEnv } = workspace.options;
  const env: Record<string, string> = {};
  for (const name of PASSED_ENV) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, commandEnv);
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const child = spawn(command, args, {
      cwd,
      env,
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
      // Its own process group, so a kill reaches everything it started.
      detached: true,
    });
    const group = processGroup(child);
    let truncated = false;
    let timedOut = false;
    const collect = () => {
      const chunks: Buffer[] = [];
      let size = 0;
      return {
        add(chunk: Buffer) {
          const room = maxCommandOutputBytes - size;
          if (chunk.length > room) truncated = true;
          if (room <= 0) return;
          const kept = chunk.subarray(0, room);
          chunks.push(kept);
          size += kept.length;
        },
        text: () => Buffer.concat(chunks).toString('utf8'),
      };
    };
    const stdout = collect();
    const stderr = collect();
    child.stdout.on('data', stdout.add);
    child.stderr.on('data', stderr.add);
    const timer = setTimeout(() => {
      timedOut = true;
      group.kill();
    }, commandTimeoutMs);
    signal.addEventListener('abort', group.kill, { once: true });
    // What the command left running in the background dies with it; its
    // output pipes would otherwise stay open until those processes end.
    child.on('exit', group.kill);
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', group.kill);
      group.release();
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      done();
      reject(
        new TroupeError(
          'INVALID_INPUT',
          `run_command: ${JSON.stringify(command)} could not be started (${error.code ?? error.message}); is it installed and on PATH?`,
          { command },
          { cause: error },
        ),
      );
    });
    child.on('close', (exitCode, exitSignal) => {
      done();
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      resolve({
        command,
        args,
        exitCode,
        signal: exitSignal,
        stdout: stdout.text(),
        stderr: stderr.text(),
        timedOut,
        truncated,
      });
    });
  });
}

/** Process groups of running commands, killed if this process exits first. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

/**
 * The child's process group (its pid: `detached` made it the leader).
 * `kill` sends SIGKILL to every process in it, grandchildren included; a
 * group that is already gone is not an error. Until `release`, the group is
 * also killed when this process exits, because a detached child no longer
 * shares the terminal's process group and would outlive us.
 */
function processGroup(child: ChildProcess): { kill: () => void; release: () => void } {
  const pid = child.pid;
  if (pid === undefined) return { kill: () => undefined, release: () => undefined };
  liveGroups.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const group of liveGroups) killGroup(group);
    });
  }
  return {
    kill: () => killGroup(pid),
    release: () => {
      liveGroups.delete(pid);
    },
  };
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
