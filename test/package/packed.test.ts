/**
 * The npm package as a user gets it: `npm pack` (which runs `prepack`: clean,
 * tsc, inspector page), installed into a fresh project with production
 * dependencies only, then used from there: types in a strict consumer under
 * both module resolutions, the CLI from node_modules/.bin, the inspector
 * page over HTTP, and `import 'troupe'` without loading `openai`, `pg`, `ws`, `re2-wasm` or the
 * MCP SDK.
 *
 * The checkout is copied first (sources, configs; node_modules linked), so
 * packing never rewrites this checkout's dist folders under other tests.
 */
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSUMER_SOURCE, HEAVY_BLOCKER, INSPECT_SCRIPT } from './consumer-files.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
/** What packing reads: everything else in the checkout stays out of the copy. */
const PACKED_INPUTS = [
  'src',
  'inspector',
  'package.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'README.md',
  'LICENSE',
  'CHANGELOG.md',
];

/**
 * Child processes run as a user's would: none of the `npm test` run's npm_*
 * settings, nor the test runner's NODE_OPTIONS.
 */
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) => !key.toLowerCase().startsWith('npm_') && key !== 'NODE_OPTIONS',
  ),
);

let work: string;
let consumer: string;
let tarball: string;
let files: string[];

async function sh(cmd: string, args: string[], cwd: string, timeout = 480_000) {
  try {
    return await run(cmd, args, { cwd, env, timeout, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const e = error as Error & { stdout?: string; stderr?: string };
    throw new Error(
      `${cmd} ${args.join(' ')} failed in ${cwd}:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`,
      {
        cause: error,
      },
    );
  }
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'troupe-pack-'));
  const copy = path.join(work, 'checkout');
  for (const entry of PACKED_INPUTS) {
    cpSync(path.join(ROOT, entry), path.join(copy, entry), {
      recursive: true,
      filter: (from) => !from.endsWith(`${path.sep}inspector${path.sep}dist`),
    });
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  const packed = await sh('npm', ['pack', '--silent', '--pack-destination', work], copy);
  tarball = path.join(work, packed.stdout.trim().split('\n').at(-1) ?? '');
  files = (await sh('tar', ['-tzf', tarball], work)).stdout.trim().split('\n');

  consumer = path.join(work, 'consumer');
  mkdirSync(path.join(consumer, 'src'), { recursive: true });
  mkdirSync(path.join(consumer, 'sample'));
  writeFileSync(
    path.join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  await sh(
    'npm',
    [
      'install',
      '--omit=dev',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      tarball,
      '@types/node@^20',
    ],
    consumer,
  );
  writeFileSync(path.join(consumer, 'src/main.ts'), CONSUMER_SOURCE);
  writeFileSync(path.join(consumer, 'inspect.mjs'), INSPECT_SCRIPT);
  writeFileSync(path.join(consumer, 'block-heavy.mjs'), HEAVY_BLOCKER);
  writeFileSync(path.join(consumer, 'sample/app.ts'), 'export const answer = 42;\n');
  writeFileSync(path.join(consumer, 'sample/README.md'), '# sample\n');
  for (const resolution of ['node16', 'bundler'] as const) {
    const compilerOptions = {
      strict: true,
      skipLibCheck: false,
      noEmit: true,
      target: 'ES2022',
      module: resolution === 'node16' ? 'node16' : 'esnext',
      moduleResolution: resolution,
      types: ['node'],
      noUncheckedIndexedAccess: true,
    };
    writeFileSync(
      path.join(consumer, `tsconfig.${resolution}.json`),
      JSON.stringify({ compilerOptions, include: ['src'] }),
    );
  }
}, 600_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('ships the build, the prebuilt inspector page and the license, and no sources or maps', () => {
    expect(files).toContain('package/LICENSE');
    expect(files).toContain('package/dist/index.js');
    expect(files).toContain('package/dist/index.d.ts');
    expect(files).toContain('package/dist/cli/main.js');
    expect(files).toContain('package/inspector/index.html');
    for (const asset of ['inspector.js', 'inspector.css', 'answer-check.js', 'elk-worker.js']) {
      expect(files).toContain(`package/inspector/dist/${asset}`);
    }
    const unwanted = files.filter(
      (f) =>
        f.endsWith('.map') ||
        f.startsWith('package/src/') ||
        f.startsWith('package/inspector/src/') ||
        f.startsWith('package/test/') ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts')),
    );
    expect(unwanted).toEqual([]);
  });

  it('installs with production dependencies only: no esbuild, elkjs, tsx or Stately packages', () => {
    const installed = readdirSync(path.join(consumer, 'node_modules'));
    for (const dev of ['esbuild', 'elkjs', 'tsx', 'vitest', 'typescript']) {
      expect(installed, dev).not.toContain(dev);
    }
    expect(existsSync(path.join(consumer, 'node_modules/@statelyai/inspect'))).toBe(false);
    const pkg = JSON.parse(
      readFileSync(path.join(consumer, 'node_modules/troupe/package.json'), 'utf8'),
    );
    expect(pkg.license).toBe('MIT');
    expect(pkg.repository?.url).toMatch(/^git\+https:/);
  });

  it('types compile in a strict consumer (skipLibCheck false) under moduleResolution node16 and bundler', async () => {
    // Two programs at once: on an idle 2-core machine this halves the wait.
    await Promise.all(
      ['node16', 'bundler'].map((resolution) =>
        sh('node', [TSC, '-p', `tsconfig.${resolution}.json`], consumer),
      ),
    );
  }, 300_000);

  it('runs `troupe demo --json` from node_modules/.bin', async () => {
    const { stdout } = await sh(
      path.join(consumer, 'node_modules/.bin/troupe'),
      ['demo', 'sample', '--json', '--out', 'report', '--data-dir', 'data'],
      consumer,
    );
    const result = JSON.parse(stdout) as { status: string; success: boolean };
    expect(result.status).toBe('completed');
    expect(result.success).toBe(true);
    expect(existsSync(path.join(consumer, 'report/report.md'))).toBe(true);
  }, 120_000);

  it('serves the prebuilt inspector page over HTTP from a runtime', async () => {
    const { stdout } = await sh('node', ['inspect.mjs'], consumer);
    const served = JSON.parse(stdout) as Record<
      string,
      { status: number; type: string; bytes: number }
    >;
    const prebuilt = (name: string) =>
      readFileSync(path.join(consumer, 'node_modules/troupe/inspector/dist', name)).length;
    expect(served['/']).toMatchObject({ status: 200, type: expect.stringContaining('text/html') });
    expect(served['/inspector.js']).toEqual({
      status: 200,
      type: expect.stringContaining('javascript'),
      bytes: prebuilt('inspector.js'),
    });
    expect(served['/inspector.css']?.bytes).toBe(prebuilt('inspector.css'));
    expect(served['/answer-check.js']?.bytes).toBe(prebuilt('answer-check.js'));
    expect(served['/elk-worker.js']?.bytes).toBe(prebuilt('elk-worker.js'));
  }, 120_000);

  it('does not load openai, pg, ws, re2-wasm or the MCP SDK on import; openai only when a model is first called', async () => {
    const blocked = ['--import', './block-heavy.mjs', '--input-type=module', '-e'];
    await sh(
      'node',
      [...blocked, "await import('troupe'); await import('troupe/testing');"],
      consumer,
    );
    // The blocker works: calling a model loads openai, which it refuses.
    const { stdout } = await sh(
      'node',
      [
        ...blocked,
        "const { createLlmClient } = await import('troupe');" +
          "const client = createLlmClient({ baseURL: 'http://127.0.0.1:9/v1', model: 'm' });" +
          'console.log(await client.openai().then(() => "loaded", (e) => e.message));',
      ],
      consumer,
    );
    expect(stdout).toContain('openai is blocked');
  }, 120_000);
});
