/**
 * Headless Chromium for the page tests: Debian's `chromium` driven by
 * playwright-core (never a downloaded browser), and a page opened on the
 * inspector that records page errors and console errors.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';

/** Debian's chromium, installed (as root) or unpacked without root by scripts/ensure-system-deps.sh. */
const SYSTEM_CHROMIUM = '/usr/bin/chromium';
const UNPACKED = fileURLToPath(
  new URL('../../node_modules/.cache/troupe-chromium/tree/', import.meta.url),
);

const ENSURE_SYSTEM_DEPS = fileURLToPath(
  new URL('../../scripts/ensure-system-deps.sh', import.meta.url),
);

/**
 * Where Chromium is, and the library folders an unpacked one needs beside the
 * machine's own. Without one it runs scripts/ensure-system-deps.sh for
 * Chromium first: `npm test` has done so already, but benchmarks and the
 * screenshot script launch a browser without the test run's setup.
 */
function chromiumLocation(): { executablePath: string; libraryPath?: string } {
  const executablePath = path.join(UNPACKED, 'usr/lib/chromium/chromium');
  if (!existsSync(SYSTEM_CHROMIUM) && !existsSync(executablePath)) {
    execFileSync('bash', [ENSURE_SYSTEM_DEPS, 'chromium'], { stdio: 'inherit' });
  }
  if (existsSync(SYSTEM_CHROMIUM)) return { executablePath: SYSTEM_CHROMIUM };
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium is missing (${SYSTEM_CHROMIUM}, ${executablePath}) after bash scripts/ensure-system-deps.sh chromium: install Debian's chromium package.`,
    );
  }
  const folders = ['usr/lib', 'lib']
    .filter((base) => existsSync(path.join(UNPACKED, base)))
    .flatMap((base) =>
      readdirSync(path.join(UNPACKED, base), { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && entry.name.endsWith('-linux-gnu'))
        .map((entry) => path.join(UNPACKED, base, entry.name)),
    );
  return {
    executablePath,
    libraryPath: [...folders, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
  };
}

/** The window sizes issue 17 asks screenshots at: a wide screen, a small laptop, a phone. */
export const SCREEN_SIZES = [
  [1440, 900],
  [1024, 768],
  [390, 844],
] as const;

export async function launchChromium(): Promise<Browser> {
  const { executablePath, libraryPath } = chromiumLocation();
  // Playwright starts Chromium with a new, empty profile (--user-data-dir) each launch.
  return chromium.launch({
    executablePath,
    ...(libraryPath ? { env: { ...process.env, LD_LIBRARY_PATH: libraryPath } } : {}),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface OpenedPage {
  page: Page;
  context: BrowserContext;
  /** Page errors and console errors seen so far. */
  problems: string[];
}

/** Opens `url` in a new context and waits until the page's WebSocket is open. */
export async function openInspector(
  browser: Browser,
  url: string,
  options: { width?: number; height?: number; bypassCSP?: boolean } = {},
): Promise<OpenedPage> {
  const problems: string[] = [];
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1440, height: options.height ?? 900 },
    ...(options.bypassCSP ? { bypassCSP: true } : {}),
  });
  const page = await context.newPage();
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  await page.goto(url);
  await page.waitForSelector('[data-connection="open"]');
  return { page, context, problems };
}

/**
 * One Chromium for a test file, launched before its tests and closed after;
 * `out` (the screenshot folder) is made first. Returns the browser's getter.
 */
export function useChromium(out: string): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
    await mkdir(out, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  return () => browser!;
}

/**
 * For a test file whose tests each open a page on a runtime of their own:
 * set `state.context` and `state.rt`; both are closed after each test.
 */
export function usePageCleanup() {
  const state: {
    context: BrowserContext | undefined;
    rt: { close(): Promise<void> } | undefined;
  } = { context: undefined, rt: undefined };
  afterEach(async () => {
    await state.context?.close();
    await state.rt?.close();
    state.context = undefined;
    state.rt = undefined;
  });
  return state;
}

/**
 * Runs axe-core on the page (injected once; the page must be opened with
 * `bypassCSP`) and returns its serious and critical violations, one line each.
 */
export async function seriousAxeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in globalThis))) {
    await page.addScriptTag({
      path: createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
    });
  }
  return page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run: (
            ctx: unknown,
            opts: unknown,
          ) => Promise<{
            violations: { id: string; impact: string; nodes: { target: string[] }[] }[];
          }>;
        };
      }
    ).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map(
        (v) =>
          `${v.id} (${v.impact}): ${v.nodes
            .slice(0, 3)
            .map((n) => n.target.join(' '))
            .join(' | ')}`,
      );
  });
}

/** Whether every node of the DAG lies inside its drawing's frame (after Fit, say). */
export function dagNodesInView(page: Page): Promise<boolean> {
  return page.$$eval('[data-testid="dag"] g.task', (nodes) => {
    const frame = document
      .querySelector('[data-testid="dag"] svg.dag-svg')!
      .getBoundingClientRect();
    return nodes.every((n) => {
      const r = n.getBoundingClientRect();
      return (
        r.left >= frame.left - 1 &&
        r.right <= frame.right + 1 &&
        r.top >= frame.top - 1 &&
        r.bottom <= frame.bottom + 1
      );
    });
  });
}

/** An epoch time as the page writes it (hh:mm:ss.mmm in the browser's time zone). */
export function pageTime(page: Page, ms: number): Promise<string> {
  return page.evaluate((at) => {
    const d = new Date(at);
    const pad = (n: number, w = 2) => String(n).padStart(w, '0');
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }, ms);
}
