/**
 * search_files: plain text by default, RE2 patterns on request. A pattern
 * that makes a backtracking engine run for seconds (`^(a+)+$` on a line of
 * a's ending in b) returns at once, and the event loop keeps turning during
 * a long search: a timer's lag is measured while it runs.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type LlmTool, Workspace, workspaceTools } from '../../src/actors/llm/index.js';
import { lineMatcher, MAX_PATTERN_LINE_CHARS } from '../../src/actors/llm/tools/line-matcher.js';
import { tempDir, toolContext } from './support.js';

interface SearchResult {
  matches: Array<{ path: string; line: number; text: string }>;
  filesSearched: number;
  truncated: boolean;
  timedOut: boolean;
}

async function searchTool(
  files: Record<string, string>,
  options: { searchTimeoutMs?: number } = {},
) {
  const root = await tempDir();
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), text);
  }
  const tool = workspaceTools(new Workspace({ root, ...options })).find(
    (t) => t.name === 'search_files',
  )!;
  return (args: Record<string, unknown>) => tool.call(JSON.stringify(args), toolContext());
}

async function found(call: ReturnType<LlmTool['call']>): Promise<SearchResult> {
  const outcome = await call;
  if (!outcome.ok) throw new Error(outcome.error);
  return outcome.result as SearchResult;
}

/** Runs `work` while a 1 ms interval measures how late the event loop serves it. */
async function withLoopLag<T>(work: () => Promise<T>): Promise<{ value: T; maxLagMs: number }> {
  let maxLagMs = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    maxLagMs = Math.max(maxLagMs, now - last - 1);
    last = now;
  }, 1);
  try {
    const value = await work();
    // One more turn, so a block at the very end of the work is measured too.
    await new Promise((resolve) => setTimeout(resolve, 2));
    return { value, maxLagMs };
  } finally {
    clearInterval(timer);
  }
}

describe('search_files', () => {
  it('matches the query as plain text by default: regex characters are literal', async () => {
    const search = await searchTool({ 'a.ts': 'const x = a.b(c);\nconst y = aXb(c);\n' });
    const plain = await found(search({ query: 'a.b(c)' }));
    expect(plain.matches).toEqual([{ path: 'a.ts', line: 1, text: 'const x = a.b(c);' }]);
    const pattern = await found(search({ query: 'a.b\\(c\\)', regex: true }));
    expect(pattern.matches.map((m) => m.line)).toEqual([1, 2]);
    const cased = await found(search({ query: 'AXB', regex: true, caseSensitive: true }));
    expect(cased.matches).toEqual([]);
  });

  it('documents the pattern parameter and the engine in the tool schema', () => {
    const tool = workspaceTools(new Workspace({ root: '/tmp/unused' })).find(
      (t) => t.name === 'search_files',
    )!;
    const properties = (tool.spec.function.parameters as { properties: Record<string, unknown> })
      .properties;
    expect(properties.regex).toMatchObject({ type: 'boolean' });
    expect(JSON.stringify(properties.regex)).toMatch(/RE2 regular expression.*plain text/);
    expect(JSON.stringify(properties.query)).toMatch(/matched literally/);
  });

  it('runs ^(a+)+$ on a line of a’s ending in b in well under 100 ms, with the event loop turning', async () => {
    const evil = `${'a'.repeat(40)}b`;
    const search = await searchTool({
      'evil.txt': `${evil}\n`.repeat(10),
      'ok.txt': `${'a'.repeat(40)}\n`,
    });
    // The backtracking engine this replaced needs 2^40 steps for each such line.
    await found(search({ query: 'warm the file cache' }));
    const started = performance.now();
    const { value, maxLagMs } = await withLoopLag(() =>
      found(search({ query: '^(a+)+$', regex: true })),
    );
    const elapsed = performance.now() - started;
    expect(value.matches).toEqual([{ path: 'ok.txt', line: 1, text: 'a'.repeat(40) }]);
    expect(value.filesSearched).toBe(2);
    expect(elapsed).toBeLessThan(100);
    expect(maxLagMs).toBeLessThan(100);
  });

  it('keeps the event loop turning through a long, expensive search', async () => {
    // (.*a){20}x costs RE2 some milliseconds per line here: seconds in all.
    const line = 'lorem ipsum dolor sit amet, aaaa '.repeat(60);
    const files = Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [`f${i}.txt`, `${line}\n`.repeat(40)]),
    );
    const search = await searchTool(files, { searchTimeoutMs: 50 });
    const started = performance.now();
    const { value, maxLagMs } = await withLoopLag(() =>
      found(search({ query: '(.*a){20}x', regex: true, caseSensitive: true })),
    );
    expect(value.timedOut).toBe(true);
    expect(value.filesSearched).toBeLessThan(20);
    expect(performance.now() - started).toBeLessThan(2_000);
    // Matching one line takes some milliseconds; the rest is a busy machine.
    expect(maxLagMs).toBeLessThan(250);
  });

  it('matches a pattern against the first characters of a long line only', async () => {
    const long = `${'x'.repeat(MAX_PATTERN_LINE_CHARS)}needle`;
    const search = await searchTool({ 'min.js': `${long}\n` });
    expect((await found(search({ query: 'needle' }))).matches).toHaveLength(1);
    expect((await found(search({ query: 'need+le', regex: true }))).matches).toHaveLength(0);
  });

  it('reports an invalid or unsupported pattern to the model as a tool error', async () => {
    const search = await searchTool({ 'a.txt': 'abc\n' });
    for (const query of ['(', '(a)\\1', '(?<=a)b', 'x{2,1}']) {
      const outcome = await search({ query, regex: true });
      expect(outcome).toMatchObject({
        ok: false,
        error: expect.stringMatching(/not a valid regular expression for RE2.*plain text/),
      });
    }
    expect(await search({ query: 'a'.repeat(501), regex: true })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/at most 500 are allowed/),
    });
    // The tool still works afterwards.
    expect((await found(search({ query: 'b+c', regex: true }))).matches).toHaveLength(1);
  });

  it('frees every compiled pattern: thousands of compilations do not exhaust the engine', async () => {
    // re2-wasm's heap is a fixed 16 MiB; leaking each pattern (valid or not)
    // aborts it after about 6,500 of these.
    let matched = 0;
    for (let i = 0; i < 7_000; i++) {
      const matcher = lineMatcher(`^(a+)+$|b${i}`, true, true);
      if (matcher.test(`b${i}`)) matched++;
      matcher.dispose();
    }
    expect(matched).toBe(7_000);
    for (let i = 0; i < 1_000; i++) {
      expect(() => lineMatcher(`^(a+)+$|(${i}`, true, true)).toThrow(/not a valid/);
    }
    const search = await searchTool({ 'a.txt': 'abc\n' });
    expect((await found(search({ query: 'a.c', regex: true }))).matches).toHaveLength(1);
  }, 60_000);
});
