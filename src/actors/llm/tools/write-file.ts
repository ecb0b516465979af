import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { TroupeError } from '../../../errors.js';
import { defineTool, type LlmTool } from '../define-tool.js';
import { lockWorkspacePath } from './path-lock.js';
import type { Workspace } from './workspace.js';

const input = z.object({
  path: z
    .string()
    .describe('File path relative to the workspace root; missing folders are created.'),
  content: z.string().describe('The complete text to write.'),
  append: z
    .boolean()
    .optional()
    .describe('Add to the end of the file instead of replacing it (default false).'),
});

/** What `write_file` answers. */
interface WrittenFile {
  path: string;
  bytes: number;
  appended: boolean;
}

/** `write_file`: creates or replaces (or appends to) a text file of the workspace, at most `maxWriteBytes`. */
export function writeFileTool(workspace: Workspace): LlmTool {
  const limit = workspace.options.maxWriteBytes;
  return defineTool({
    name: 'write_file',
    description: `Create or overwrite a UTF-8 text file in the workspace (at most ${limit} bytes per call). Writing the same content twice is harmless. A path another agent is writing at the same time is refused.`,
    input,
    async handler({ path: given, content, append = false }, ctx) {
      const bytes = Buffer.byteLength(content, 'utf8');
      if (bytes > limit) {
        throw new TroupeError(
          'INVALID_INPUT',
          `write_file: ${bytes} bytes for ${JSON.stringify(given)} is more than the limit of ${limit}; split the content over several files or appends.`,
          { path: given, bytes, limit },
        );
      }
      const target = await workspace.resolve(given, 'write_file');
      if (target.relative === '.') {
        throw new TroupeError(
          'INVALID_INPUT',
          'write_file: give a file path, not the workspace root.',
          {
            path: given,
          },
        );
      }
      // A path another running task is writing is its own until that task ends.
      await lockWorkspacePath(ctx, 'write_file', target.relative, 0);
      // The parent chain was checked by resolve(); folders created here are new, real folders under it.
      await mkdir(path.dirname(target.absolute), { recursive: true });
      await (append ? appendFile : writeFile)(target.absolute, content, 'utf8');
      return { path: target.relative, bytes, appended: append };
    },
    effect: (_, result) => ({ kind: 'file', ...(result as WrittenFile) }),
  });
}
