/**
 * The habits of the `troupe` command: help per command, --version, usage
 * errors (exit 2), errors as JSON under --json, list --json, colours.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { colourEnabled } from '../../src/cli/colour.js';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { main } from '../../src/cli/main.js';
import { createRuntime, defineAgent } from '../../src/index.js';
import { capture, ROOT, troupe } from './support.js';

async function cli(argv: string[]) {
  const out = capture();
  const err = capture();
  const code = await main(argv, { out, err });
  return { code, out: out.text(), err: err.text() };
}

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('troupe help and version', () => {
  it('--help lists every command; <command> --help prints that command’s usage', async () => {
    const global = await cli(['--help']);
    expect(global.code).toBe(0);
    for (const command of COMMANDS) expect(global.out).toContain(`troupe ${command.name}`);
    for (const command of COMMANDS) {
      const help = await cli([command.name, '--help']);
      expect(help.code).toBe(0);
      expect(help.out).toMatch(new RegExp(`^Usage: troupe ${command.name} `));
      expect(help.out).not.toContain('Options of every command');
    }
    const resume = await cli(['resume', '-h']);
    expect(resume.out).toContain('--all');
    expect(resume.out).not.toContain('--out');
  });

  it('--version prints the version from package.json', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(await cli(['--version'])).toEqual({ code: 0, out: `${version}\n`, err: '' });
  });
});

describe('troupe usage errors', () => {
  it.each([
    [['list', '--bogus'], "unknown option '--bogus'"],
    [['list', '--out', 'x'], "unknown option '--out'"],
    [['list', 'extra'], 'takes no arguments; unexpected "extra"'],
    [['show'], 'needs <runId>'],
    [['show', 'a', 'b'], 'takes at most 1 argument'],
    [['resume'], 'needs a run id or --all'],
    [['resume', 'a', '--all'], 'needs a run id or --all'],
    [['demo', '--inspect=http'], '--inspect takes a port number'],
    [['run', 'task', '--requirements', '[1]'], '--requirements must be a JSON object'],
    [['run', 'task', '--requirements', '{'], '--requirements is not valid JSON'],
    [['run', 'task', '--workspace', 'w'], '--workspace applies only with an LLM'],
    [['run', '--plan', 'missing.json'], '--plan missing.json cannot be read'],
    [['nope'], 'unknown command "nope"'],
    [[], 'no command given'],
  ])('troupe %j exits 2: %s', async (argv, message) => {
    const { code, out, err } = await cli(argv);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain(message);
    expect(err).toMatch(/Run `troupe( \w+)? --help`/);
  });

  it('under --json a usage error is JSON on stdout with code USAGE', async () => {
    const { code, out, err } = await cli(['list', 'extra', '--json']);
    expect(code).toBe(2);
    expect(err).toBe('');
    expect(JSON.parse(out)).toEqual({
      error: { code: 'USAGE', message: 'takes no arguments; unexpected "extra"' },
    });
  });

  it('under --json a failure is JSON on stdout with the TroupeError code, exit 1', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'troupe-cli-json-'));
    const { code, out, err } = await cli([
      'show',
      'missing',
      '--json',
      '--data-dir',
      path.join(dir, 'data'),
    ]);
    expect(code).toBe(1);
    expect(err).toBe('');
    const { error } = JSON.parse(out) as { error: { code: string; message: string } };
    expect(error.code).toBe('WORKFLOW_NOT_FOUND');
    expect(error.message).toContain('No run "missing"');
  });

  it('troupe demo <missing folder> is a usage error that stores nothing', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'troupe-cli-demo-'));
    const data = path.join(dir, 'data');
    const { code, err } = await cli(['demo', path.join(dir, 'nope'), '--data-dir', data]);
    expect(code).toBe(2);
    expect(err).toContain('needs a folder to report on');
    expect(existsSync(data)).toBe(false);
  });
});

describe('troupe list --json', () => {
  it('has the fields of the table: name, status, task count, time, start', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'troupe-cli-list-'));
    await mkdir(path.join(dir, 'src'));
    await writeFile(path.join(dir, 'src', 'a.ts'), 'export const a = 1;\n');
    const data = path.join(dir, 'data');
    const demo = await cli([
      'demo',
      path.join(dir, 'src'),
      '--data-dir',
      data,
      '--out',
      path.join(dir, 'report'),
      '--json',
    ]);
    expect(demo.code, demo.err).toBe(0);
    const run = JSON.parse(demo.out) as { workflowId: string; totalExecutionTime: number };
    const listed = await cli(['list', '--json', '--data-dir', data]);
    const [row] = JSON.parse(listed.out) as Record<string, unknown>[];
    expect(row).toMatchObject({
      workflowId: run.workflowId,
      name: 'codebase-report',
      status: 'completed',
      tasks: 8,
      timeMs: run.totalExecutionTime,
    });
    expect(typeof row!.startedAt).toBe('string');
    const table = await cli(['list', '--data-dir', data]);
    expect(table.out).toMatch(
      new RegExp(`${run.workflowId}\\s+codebase-report\\s+completed\\s+8\\s`),
    );
  });
});

describe('troupe show', () => {
  it('lists the attempts that failed and were retried, and why the run stopped', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'troupe-cli-show-'));
    const data = path.join(dir, 'data');
    const rt = await createRuntime({
      dataDir: data,
      durable: true,
      agents: [
        defineAgent({
          role: 'worker',
          run: (task, ctx) => {
            if (task.id === 'fetch' && ctx.attempt < 3)
              throw new Error(`mirror ${ctx.attempt} down`);
            if (task.id === 'parse') throw new Error('bad page');
            return 'ok';
          },
        }),
      ],
    });
    const result = await rt.engine.execute(
      {
        name: 'crawl',
        tasks: [
          { id: 'fetch', agent: 'worker', retry: { maxAttempts: 3, initialDelayMs: 1 } },
          { id: 'parse', agent: 'worker', dependsOn: ['fetch'] },
          { id: 'index', agent: 'worker', dependsOn: ['parse'] },
        ],
      },
      { workflowId: 'crawl-1' },
    );
    await rt.close();
    expect(result.status).toBe('failed');
    const { code, out } = await cli(['show', 'crawl-1', '--data-dir', data]);
    expect(code).toBe(0);
    const [, attempts = ''] = out.split('Failed attempts, retried:\n');
    const rows = attempts.split('\n').filter((line) => line.startsWith('fetch'));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^fetch\s+#1\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+[\d.]+ m?s\s+mirror 1 down$/);
    expect(rows[1]).toMatch(/#2 .*mirror 2 down$/);
    expect(out).toContain('Stopped: the run stopped: task "parse" failed');
  });
});

describe('colours', () => {
  const tty = { isTTY: true };
  it('follow hasColors() on a terminal: NO_COLOR and TERM=dumb turn them off', () => {
    expect(colourEnabled(tty, { TERM: 'xterm-256color' })).toBe(true);
    expect(colourEnabled(tty, { TERM: 'xterm-256color', NO_COLOR: '1' })).toBe(false);
    expect(colourEnabled(tty, { TERM: 'dumb' })).toBe(false);
    expect(colourEnabled({ isTTY: false }, { TERM: 'xterm-256color' })).toBe(false);
  });

  it('FORCE_COLOR wins: 0 turns them off on a terminal, 1 turns them on in a pipe', () => {
    expect(colourEnabled(tty, { TERM: 'xterm-256color', FORCE_COLOR: '0' })).toBe(false);
    expect(colourEnabled({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(colourEnabled({ isTTY: false }, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(true);
  });

  it('a real process prints ANSI colours with FORCE_COLOR=1 and none with FORCE_COLOR=0', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'troupe-cli-colour-'));
    await writeFile(path.join(dir, 'a.md'), '# a\n');
    const args = ['demo', '.', '--data-dir', 'data', '--out', 'report'];
    const on = await troupe(args, { cwd: dir, env: { FORCE_COLOR: '1' } });
    expect(on.code, on.err).toBe(0);
    expect(on.out).toContain('\u001b[32m');
    const off = await troupe(args, { cwd: dir, env: { FORCE_COLOR: '0' } });
    expect(off.code, off.err).toBe(0);
    expect(off.out).not.toContain('\u001b[');
  }, 120_000);
});
