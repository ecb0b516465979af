/**
 * Headless Chromium for the page tests: Debian's `chromium` driven by
 * playwright-core (never a downloaded browser), and a page opened on the
 * inspector that records page errors and console errors.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it on CI).`);
  }
  // Playwright starts Chromium with a new, empty profile (--user-data-dir) each launch.
  return chromium.launch({
    executablePath: CHROMIUM,
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
