/**
 * Locks on workspace paths, so agents running at the same time do not
 * overwrite each other's files: `write_file` takes the lock of the path it
 * writes (without waiting), `lock_path` takes one ahead of time (waiting),
 * and a task keeps its locks until it ends (see `ctx.lock`).
 */
import { z } from 'zod';
import { TroupeError } from '../../../errors.js';
import { defineTool, type LlmTool, type ToolContext } from '../define-tool.js';
import type { Workspace } from './workspace.js';

/** The communicator lock key of a workspace path (relative, as `Workspace.resolve` gives it). */
export function pathLockKey(relative: string): string {
  return `path:${relative}`;
}

/**
 * Takes the lock of `relative` for the calling task. Outside a workflow task
 * there is nobody to coordinate with, and nothing is locked.
 * @throws TroupeError `LOCK_TIMEOUT` saying which task holds the path and what to do.
 */
export async function lockWorkspacePath(
  ctx: ToolContext,
  tool: string,
  relative: string,
  timeoutMs: number,
): Promise<void> {
  if (!ctx.team) return;
  try {
    await ctx.team.lock(pathLockKey(relative), { timeoutMs });
  } catch (error) {
    if (!(error instanceof TroupeError && error.code === 'LOCK_TIMEOUT')) throw error;
    const holder = String(error.context.holder ?? 'another task');
    throw new TroupeError(
      'LOCK_TIMEOUT',
      `${tool}: ${JSON.stringify(relative)} is locked by ${holder} (role:task), which is working on it until its task ends. Write another path, or wait for it with lock_path and read the file before you change it.`,
      { path: relative, holder },
      { cause: error },
    );
  }
}

/** `lock_path`: takes the lock of a workspace path for the rest of the task, waiting for its holder. */
export function lockPathTool(workspace: Workspace): LlmTool {
  return defineTool({
    name: 'lock_path',
    description:
      'Reserve a file path of the workspace for the rest of your task before you write it, so agents working at the same time do not overwrite each other. Waits while another task holds it (write_file fails at once instead).',
    input: z.object({
      path: z.string().describe('File path relative to the workspace root.'),
      waitSeconds: z
        .number()
        .min(0)
        .max(600)
        .optional()
        .describe('How long to wait for another task holding it (default 60).'),
    }),
    async handler({ path: given, waitSeconds = 60 }, ctx) {
      if (!ctx.team) throw new Error('this tool only works inside a workflow task');
      const target = await workspace.resolve(given, 'lock_path');
      await lockWorkspacePath(ctx, 'lock_path', target.relative, waitSeconds * 1000);
      return `locked ${target.relative} until your task ends`;
    },
  });
}
