import { open } from 'node:fs/promises';
import { z } from 'zod';
import { TroupeError } from '../../../errors.js';
import { defineTool, type LlmTool } from '../define-tool.js';
import type { Workspace } from './workspace.js';

const input = z.object({
  path: z.string().describe('File path relative to the workspace root, e.g. "src/index.ts".'),
  offset: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Byte to start at, for reading a large file in parts (default 0).'),
});

/** `read_file`: a text file of the workspace, cut at `maxReadBytes` (with `nextOffset` to read on). */
export function readFileTool(workspace: Workspace): LlmTool {
  const limit = workspace.options.maxReadBytes;
  return defineTool({
    name: 'read_file',
    description: `Read a UTF-8 text file of the workspace. Returns at most ${limit} bytes; when "truncated" is true, call again with "offset": nextOffset to read on.`,
    input,
    async handler({ path, offset = 0 }) {
      const target = await workspace.resolve(path, 'read_file');
      const file = await open(target.absolute, 'r').catch((error: NodeJS.ErrnoException) => {
        throw new TroupeError(
          'INVALID_INPUT',
          `read_file: ${JSON.stringify(target.relative)} ${error.code === 'ENOENT' ? 'does not exist' : `cannot be opened (${error.code ?? error.message})`}; list_files shows what exists.`,
          { path: target.relative },
        );
      });
      try {
        const stat = await file.stat();
        if (!stat.isFile()) {
          throw new TroupeError(
            'INVALID_INPUT',
            `read_file: ${JSON.stringify(target.relative)} is not a file; use list_files for folders.`,
            { path: target.relative },
          );
        }
        const length = Math.max(0, Math.min(limit, stat.size - offset));
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await file.read(buffer, 0, length, offset);
        const end = offset + bytesRead;
        return {
          path: target.relative,
          size: stat.size,
          content: buffer.subarray(0, bytesRead).toString('utf8'),
          truncated: end < stat.size,
          ...(end < stat.size ? { nextOffset: end } : {}),
        };
      } finally {
        await file.close();
      }
    },
  });
}
