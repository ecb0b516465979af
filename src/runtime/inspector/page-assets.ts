/**
 * The inspector page's files. A published package ships them prebuilt in
 * `inspector/dist` (`npm run build:inspector`); in a checkout, where the
 * sources may be newer than any build, the server bundles them itself with
 * esbuild's API, in memory, once per process. So `npm start` and the tests
 * need no separate build step.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { copyFile, readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TroupeError } from '../../errors.js';

export interface PageAssets {
  html: string;
  js: string;
  css: string;
  /**
   * The check of typed wait answers (inspector/src/answer-check.ts, with
   * zod's JSON Schema reader: three quarters of the page's code by size), a
   * file of its own the page loads once it shows a wait, so a page opened on
   * a busy run starts with a quarter of the code to compile.
   */
  answerCheck: string;
  /** elkjs's layout engine, run by the page in a Web Worker. */
  elkWorker: string;
  /** Strong ETags by path, from a hash of each file's content. */
  etags: Record<string, string>;
}

/** The `inspector/` folder of the package: the same relative place from `src/` and from `dist/`. */
export const INSPECTOR_DIR = fileURLToPath(new URL('../../../inspector/', import.meta.url));
const SRC_DIR = path.join(INSPECTOR_DIR, 'src');
const DIST_DIR = path.join(INSPECTOR_DIR, 'dist');
const ENTRY_POINTS = {
  inspector: path.join(SRC_DIR, 'main.ts'),
  'answer-check': path.join(SRC_DIR, 'answer-check.ts'),
};

let cached: Promise<PageAssets> | undefined;

/** The page, prebuilt if the build is current, else bundled now (once per process). */
export function loadPageAssets(): Promise<PageAssets> {
  cached ??= load()
    .then(withEtags)
    .catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
  return cached;
}

function withEtags(files: Omit<PageAssets, 'etags'>): PageAssets {
  const tag = (text: string) =>
    `"${createHash('sha256').update(text).digest('base64url').slice(0, 22)}"`;
  const html = tag(files.html);
  return {
    ...files,
    etags: {
      '/': html,
      '/index.html': html,
      '/inspector.js': tag(files.js),
      '/inspector.css': tag(files.css),
      '/answer-check.js': tag(files.answerCheck),
      '/elk-worker.js': tag(files.elkWorker),
    },
  };
}

async function load(): Promise<Omit<PageAssets, 'etags'>> {
  const html = await readFile(path.join(INSPECTOR_DIR, 'index.html'), 'utf8');
  const built = path.join(DIST_DIR, 'inspector.js');
  if (existsSync(built) && !(existsSync(SRC_DIR) && (await newestSource()) > mtime(built))) {
    const [js, css, answerCheck, elkWorker] = await Promise.all([
      readFile(built, 'utf8'),
      readFile(path.join(DIST_DIR, 'inspector.css'), 'utf8'),
      readFile(path.join(DIST_DIR, 'answer-check.js'), 'utf8'),
      readFile(path.join(DIST_DIR, 'elk-worker.js'), 'utf8'),
    ]);
    return { html, js, css, answerCheck, elkWorker };
  }
  const [bundled, elkWorker] = await Promise.all([
    bundle(false),
    readFile(elkWorkerSource(), 'utf8'),
  ]);
  return { html, ...bundled, elkWorker };
}

/** elkjs's prebuilt worker script, from the (dev) dependency. */
function elkWorkerSource(): string {
  return createRequire(import.meta.url).resolve('elkjs/lib/elk-worker.min.js');
}

/**
 * Bundles the page with esbuild (a devDependency). `write` puts the result
 * in `inspector/dist`, which is what `npm run build:inspector` does.
 */
export async function bundle(
  write: boolean,
): Promise<{ js: string; css: string; answerCheck: string }> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (error) {
    throw new TroupeError(
      'CONFIG_ERROR',
      'The inspector page is not built and esbuild is not installed: run `npm run build:inspector` in a checkout with dev dependencies.',
      {},
      { cause: error },
    );
  }
  const result = await esbuild.build({
    entryPoints: ENTRY_POINTS,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    outdir: DIST_DIR,
    write,
    logLevel: 'silent',
  });
  if (write) {
    await copyFile(elkWorkerSource(), path.join(DIST_DIR, 'elk-worker.js'));
    const [js, css, answerCheck] = await Promise.all(
      ['inspector.js', 'inspector.css', 'answer-check.js'].map((name) =>
        readFile(path.join(DIST_DIR, name), 'utf8'),
      ),
    );
    return { js: js!, css: css!, answerCheck: answerCheck! };
  }
  const files = result.outputFiles ?? [];
  const text = (name: string) => files.find((f) => path.basename(f.path) === name)?.text ?? '';
  return {
    js: text('inspector.js'),
    css: text('inspector.css'),
    answerCheck: text('answer-check.js'),
  };
}

function mtime(file: string): number {
  return statSync(file).mtimeMs;
}

async function newestSource(): Promise<number> {
  let newest = mtime(path.join(INSPECTOR_DIR, 'index.html'));
  // The page imports the protocol and a few pure helpers from the server's folder.
  for (const dir of [SRC_DIR, fileURLToPath(new URL('.', import.meta.url))]) {
    for (const name of await readdir(dir)) newest = Math.max(newest, mtime(path.join(dir, name)));
  }
  return newest;
}
