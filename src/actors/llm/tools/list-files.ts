import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { TroupeError } from '../../../errors.js';
import { defineTool, type LlmTool } from '../define-tool.js';
import { walk } from './walk.js';
import type { Workspace } from './workspace.js';

const MAX_ENTRIES = 500;

const input = z.object({
  path: z.string().optional().describe('Folder relative to the workspace root (default ".").'),
  recursive: z
    .boolean()
    .optional()
    .describe('Include everything below, except inside .git and node_modules (default false).'),
});

type EntryType = 'file' | 'dir' | 'symlink' | 'other';

/** `list_files`: the entries of a workspace folder, symlinks shown but not followed. */
export function listFilesTool(workspace: Workspace): LlmTool {
  return defineTool({
    name: 'list_files',
    description: `List files and folders of the workspace (at most ${MAX_ENTRIES} entries). Paths are relative to the workspace root.`,
    input,
    async handler({ path: given = '.', recursive = false }) {
      const folder = await workspace.resolve(given, 'list_files');
      const stat = await lstat(folder.absolute).catch(() => undefined);
      if (!stat?.isDirectory()) {
        throw new TroupeError(
          'INVALID_INPUT',
          `list_files: ${JSON.stringify(folder.relative)} is not a folder of the workspace.`,
          { path: folder.relative },
        );
      }
      const root = await workspace.realRootPath();
      const entries: Array<{ path: string; type: EntryType; size?: number }> = [];
      let truncated = false;
      for await (const { absolute, dirent } of walk(folder.absolute, recursive)) {
        if (entries.length === MAX_ENTRIES) {
          truncated = true;
          break;
        }
        const type: EntryType = dirent.isSymbolicLink()
          ? 'symlink'
          : dirent.isDirectory()
            ? 'dir'
            : dirent.isFile()
              ? 'file'
              : 'other';
        const relative = path.relative(root, absolute).split(path.sep).join('/');
        const size = type === 'file' ? (await lstat(absolute)).size : undefined;
        entries.push({ path: relative, type, ...(size === undefined ? {} : { size }) });
      }
      return { path: folder.relative, entries, truncated };
    },
  });
}
