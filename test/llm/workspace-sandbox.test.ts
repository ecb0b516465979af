/**
 * The workspace sandbox: every way out (.., absolute paths, symlinks to
 * folders and files outside, dangling symlinks) is refused, with real
 * symlinks in a temporary folder, for every path-taking tool.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { type LlmTool, Workspace, workspaceTools } from '../../src/actors/llm/index.js';
import { TroupeError } from '../../src/index.js';
import { tempDir, toolContext } from './support.js';

interface Fixture {
  root: string;
  outside: string;
  workspace: Workspace;
  tools: Map<string, LlmTool>;
}

let fx: Fixture;

beforeEach(async () => {
  const base = await tempDir();
  const root = path.join(base, 'ws');
  const outside = path.join(base, 'outside');
  await mkdir(path.join(root, 'src'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(root, 'src', 'a.txt'), 'alpha\nbeta needle\n');
  await writeFile(path.join(outside, 'secret.txt'), 'top secret needle\n');
  await symlink(outside, path.join(root, 'out-dir'));
  await symlink(path.join(outside, 'secret.txt'), path.join(root, 'out-file'));
  await symlink(path.join(outside, 'not-yet.txt'), path.join(root, 'dangling'));
  await symlink(path.join(root, 'src'), path.join(root, 'in-link'));
  const workspace = new Workspace({ root, maxReadBytes: 64, maxWriteBytes: 32 });
  fx = {
    root,
    outside,
    workspace,
    tools: new Map(workspaceTools(workspace).map((t) => [t.name, t])),
  };
});

async function call(name: string, args: Record<string, unknown>) {
  return fx.tools.get(name)!.call(JSON.stringify(args), toolContext());
}

describe('workspace paths', () => {
  /** `<outside>` stands for the absolute path of the folder next to the workspace. */
  const escapes = [
    ['..', '../outside/secret.txt', 'parent'],
    ['.. after a folder', 'src/../../outside/secret.txt', 'parent'],
    ['an absolute path', '<outside>/secret.txt', 'absolute'],
    ['a symlinked folder', 'out-dir/secret.txt', 'symlink'],
    ['a symlinked file', 'out-file', 'symlink'],
    ['a dangling symlink', 'dangling', 'symlink'],
  ] as const;

  it.each(escapes)('refuses %s with a TroupeError naming the rule', async (_, pattern, reason) => {
    const given = pattern.replace('<outside>', fx.outside);
    const error = await fx.workspace.resolve(given, 'read_file').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TroupeError);
    expect(error).toMatchObject({ code: 'INVALID_INPUT', context: { reason, path: given } });
    expect((error as Error).message).toMatch(
      /^read_file: path ".*" .*Tools may only use paths inside the workspace/,
    );
  });

  it('refuses the absolute path of a file inside the workspace too', async () => {
    await expect(
      fx.workspace.resolve(path.join(fx.root, 'src', 'a.txt'), 't'),
    ).rejects.toMatchObject({
      context: { reason: 'absolute' },
    });
  });

  it('accepts paths that stay inside, through .. or an inside symlink', async () => {
    expect((await fx.workspace.resolve('src/../src/a.txt', 't')).relative).toBe('src/a.txt');
    const viaLink = await fx.workspace.resolve('in-link/a.txt', 't');
    expect(viaLink.absolute.endsWith(path.join('ws', 'src', 'a.txt'))).toBe(true);
    expect((await fx.workspace.resolve('', 't')).relative).toBe('.');
    expect((await fx.workspace.resolve('new/deep/file.txt', 't')).relative).toBe(
      'new/deep/file.txt',
    );
  });

  it.each([
    ['read_file', { path: 'out-dir/secret.txt' }],
    ['read_file', { path: '../outside/secret.txt' }],
    ['write_file', { path: 'out-dir/planted.txt', content: 'x' }],
    ['write_file', { path: 'dangling', content: 'x' }],
    ['write_file', { path: '/tmp/troupe-planted.txt', content: 'x' }],
    ['list_files', { path: 'out-dir' }],
    ['list_files', { path: '..' }],
    ['search_files', { query: 'needle', path: 'out-dir' }],
  ])('%s %j is refused and the refusal goes back to the model', async (tool, args) => {
    const outcome = await call(tool, args);
    expect(outcome.ok).toBe(false);
    expect(outcome).toMatchObject({
      error: expect.stringMatching(/leaves|climbs out|absolute|symlink/),
    });
    expect(existsSync(path.join(fx.outside, 'planted.txt'))).toBe(false);
    expect(existsSync(path.join(fx.outside, 'not-yet.txt'))).toBe(false);
    expect(existsSync('/tmp/troupe-planted.txt')).toBe(false);
  });
});

describe('workspace tools', () => {
  it('read_file cuts at maxReadBytes and says where to go on', async () => {
    await writeFile(path.join(fx.root, 'big.txt'), 'x'.repeat(100));
    const first = await call('read_file', { path: 'big.txt' });
    expect(first).toMatchObject({
      ok: true,
      result: { size: 100, truncated: true, nextOffset: 64 },
    });
    const rest = await call('read_file', { path: 'big.txt', offset: 64 });
    expect(rest).toMatchObject({ ok: true, result: { truncated: false, content: 'x'.repeat(36) } });
    expect(await call('read_file', { path: 'missing.txt' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/does not exist/),
    });
  });

  it('write_file refuses more than maxWriteBytes and creates folders inside', async () => {
    expect(await call('write_file', { path: 'a.txt', content: 'y'.repeat(33) })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/33 bytes .* more than the limit of 32/),
    });
    expect(await call('write_file', { path: 'docs/new/readme.md', content: '# hi' })).toMatchObject(
      {
        ok: true,
        result: { path: 'docs/new/readme.md', bytes: 4 },
      },
    );
    await call('write_file', { path: 'docs/new/readme.md', content: '!', append: true });
    expect(await readFile(path.join(fx.root, 'docs/new/readme.md'), 'utf8')).toBe('# hi!');
    // Through an inside symlink the real file is written.
    await call('write_file', { path: 'in-link/b.txt', content: 'b' });
    expect(await readFile(path.join(fx.root, 'src', 'b.txt'), 'utf8')).toBe('b');
  });

  it('list_files shows symlinks without following them', async () => {
    const outcome = await call('list_files', { recursive: true });
    expect(outcome.ok).toBe(true);
    const entries = (outcome as { result: { entries: Array<{ path: string; type: string }> } })
      .result.entries;
    expect(entries).toEqual(
      expect.arrayContaining([
        { path: 'src', type: 'dir' },
        { path: 'src/a.txt', type: 'file', size: 18 },
        { path: 'out-dir', type: 'symlink' },
        { path: 'in-link', type: 'symlink' },
      ]),
    );
    expect(entries.some((e) => e.path.startsWith('out-dir/'))).toBe(false);
  });

  it('search_files finds lines inside and never reads through symlinks', async () => {
    const outcome = await call('search_files', { query: 'NEEDLE' });
    expect(outcome).toMatchObject({
      ok: true,
      result: { matches: [{ path: 'src/a.txt', line: 2, text: 'beta needle' }], truncated: false },
    });
    expect(await call('search_files', { query: '(', regex: true })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/not a valid regular expression/),
    });
  });

  it('run_command is only offered when commands are allowed', () => {
    expect([...fx.tools.keys()]).toEqual([
      'read_file',
      'write_file',
      'list_files',
      'search_files',
      'lock_path',
    ]);
  });
});
