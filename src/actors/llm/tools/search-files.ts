import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { TroupeError } from '../../../errors.js';
import { defineTool, type LlmTool } from '../define-tool.js';
import { walk } from './walk.js';
import type { Workspace } from './workspace.js';

const MAX_MATCHES = 100;
/** Long lines (minified code) would flood the answer; the match is kept, the line cut. */
const MAX_LINE_CHARS = 300;

const input = z.object({
  query: z.string().min(1).describe('Text to find (or a regular expression with "regex": true).'),
  path: z
    .string()
    .optional()
    .describe('Folder to search, relative to the workspace root (default ".").'),
  regex: z
    .boolean()
    .optional()
    .describe('Treat the query as a JavaScript regular expression (default false).'),
  caseSensitive: z.boolean().optional().describe('Match case exactly (default false).'),
});

/** `search_files`: lines of workspace text files that match, like a small grep. */
export function searchFilesTool(workspace: Workspace): LlmTool {
  const maxBytes = workspace.options.maxReadBytes;
  return defineTool({
    name: 'search_files',
    description: `Search the text files of a workspace folder (recursively, skipping .git, node_modules, binary files and files over ${maxBytes} bytes). Returns at most ${MAX_MATCHES} matching lines with their paths and line numbers.`,
    input,
    async handler({ query, path: given = '.', regex = false, caseSensitive = false }) {
      const matcher = buildMatcher(query, regex, caseSensitive);
      const folder = await workspace.resolve(given, 'search_files');
      const root = await workspace.realRootPath();
      const matches: Array<{ path: string; line: number; text: string }> = [];
      let filesSearched = 0;
      const isFolder = (await stat(folder.absolute).catch(() => undefined))?.isDirectory();
      const files = isFolder ? filesOf(walk(folder.absolute, true)) : single(folder.absolute);
      for await (const { absolute, isFile } of files) {
        if (!isFile) continue;
        const size = (await stat(absolute)).size;
        if (size > maxBytes) continue;
        const text = await readFile(absolute, 'utf8');
        if (text.includes('\0')) continue;
        filesSearched++;
        const relative = path.relative(root, absolute).split(path.sep).join('/');
        const lines = text.split(/\r?\n/);
        for (let i = 0; i < lines.length; i++) {
          if (!matcher(lines[i]!)) continue;
          if (matches.length === MAX_MATCHES) return { matches, filesSearched, truncated: true };
          matches.push({ path: relative, line: i + 1, text: lines[i]!.slice(0, MAX_LINE_CHARS) });
        }
      }
      return { matches, filesSearched, truncated: false };
    },
  });
}

function buildMatcher(query: string, regex: boolean, caseSensitive: boolean) {
  if (!regex) {
    const needle = caseSensitive ? query : query.toLowerCase();
    return (line: string) => (caseSensitive ? line : line.toLowerCase()).includes(needle);
  }
  let pattern: RegExp;
  try {
    pattern = new RegExp(query, caseSensitive ? '' : 'i');
  } catch (error) {
    throw new TroupeError(
      'INVALID_INPUT',
      `search_files: ${JSON.stringify(query)} is not a valid regular expression (${(error as Error).message}).`,
      { query },
    );
  }
  return (line: string) => pattern.test(line);
}

async function* single(absolute: string) {
  const info = await stat(absolute).catch(() => undefined);
  if (!info) {
    throw new TroupeError(
      'INVALID_INPUT',
      'search_files: the path does not exist in the workspace.',
    );
  }
  yield { absolute, isFile: info.isFile() };
}

async function* filesOf(entries: ReturnType<typeof walk>) {
  for await (const { absolute, dirent } of entries) yield { absolute, isFile: dirent.isFile() };
}
