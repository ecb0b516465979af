import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { TroupeError } from '../../../errors.js';
import { defineTool, type LlmTool } from '../define-tool.js';
import {
  type LineMatcher,
  lineMatcher,
  MAX_PATTERN_CHARS,
  MAX_PATTERN_LINE_CHARS,
} from './line-matcher.js';
import { walk } from './walk.js';
import type { Workspace } from './workspace.js';

const MAX_MATCHES = 100;
/** Long lines (minified code) would flood the answer; the match is kept, the line cut. */
const MAX_LINE_CHARS = 300;
/** Longest stretch of matching before the search lets other work (runs, timers, I/O) go on. */
const SLICE_MS = 10;

const input = z.object({
  query: z
    .string()
    .min(1)
    .describe('Text to find, matched literally; a regular expression only with "regex": true.'),
  path: z
    .string()
    .optional()
    .describe('Folder to search, relative to the workspace root (default ".").'),
  regex: z
    .boolean()
    .optional()
    .describe(
      `Treat the query as an RE2 regular expression (default false: plain text). RE2 syntax is JavaScript's without backreferences and lookaround; at most ${MAX_PATTERN_CHARS} characters, matched against the first ${MAX_PATTERN_LINE_CHARS} characters of each line.`,
    ),
  caseSensitive: z.boolean().optional().describe('Match case exactly (default false).'),
});

/** `search_files`: lines of workspace text files that match, like a small grep. */
export function searchFilesTool(workspace: Workspace): LlmTool {
  const { maxReadBytes: maxBytes, searchTimeoutMs } = workspace.options;
  return defineTool({
    name: 'search_files',
    description: `Search the text files of a workspace folder (recursively, skipping .git, node_modules, binary files and files over ${maxBytes} bytes) for plain text, or an RE2 regular expression with "regex": true. Returns at most ${MAX_MATCHES} matching lines with their paths and line numbers; stops after ${searchTimeoutMs} ms with what it found ("timedOut": true).`,
    input,
    async handler({ query, path: given = '.', regex = false, caseSensitive = false }) {
      const matcher = lineMatcher(query, regex, caseSensitive);
      try {
        return await search(workspace, given, matcher);
      } finally {
        matcher.dispose();
      }
    },
  });
}

interface SearchResult {
  matches: Array<{ path: string; line: number; text: string }>;
  filesSearched: number;
  /** More lines matched than were returned. */
  truncated: boolean;
  /** The time limit ended the search; files after the last one searched were not. */
  timedOut: boolean;
}

async function search(
  workspace: Workspace,
  given: string,
  matcher: LineMatcher,
): Promise<SearchResult> {
  const { maxReadBytes, searchTimeoutMs } = workspace.options;
  const folder = await workspace.resolve(given, 'search_files');
  const root = await workspace.realRootPath();
  const result: SearchResult = { matches: [], filesSearched: 0, truncated: false, timedOut: false };
  const started = performance.now();
  let sliceStart = started;
  const isFolder = (await stat(folder.absolute).catch(() => undefined))?.isDirectory();
  const files = isFolder ? filesOf(walk(folder.absolute, true)) : single(folder.absolute);
  for await (const { absolute, isFile } of files) {
    if (!isFile) continue;
    const size = (await stat(absolute)).size;
    if (size > maxReadBytes) continue;
    const text = await readFile(absolute, 'utf8');
    if (text.includes('\0')) continue;
    result.filesSearched++;
    const relative = path.relative(root, absolute).split(path.sep).join('/');
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      // Matching is synchronous: between lines, give the event loop its turn
      // and check the time limit, so a long search never freezes the runtime.
      const now = performance.now();
      if (now - sliceStart >= SLICE_MS) {
        if (now - started >= searchTimeoutMs) return { ...result, timedOut: true };
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
      if (!matcher.test(lines[i]!)) continue;
      if (result.matches.length === MAX_MATCHES) return { ...result, truncated: true };
      result.matches.push({
        path: relative,
        line: i + 1,
        text: lines[i]!.slice(0, MAX_LINE_CHARS),
      });
    }
  }
  return result;
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
