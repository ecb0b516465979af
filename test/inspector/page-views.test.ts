/// <reference lib="dom" />
/**
 * Issue 17, in headless Chromium: the page people follow and steer runs with.
 * Truth (a live page, a page opened after the end and the stored result
 * agree), the DAG (zoom, fit, minimap, groups, search, legend), the task
 * drawer (a task that succeeded after a retry shows its output and both
 * attempts), keyboard use, the layout at 1440x900, 1024x768 and 390x844
 * (screenshots saved to test-output/inspector/), an axe-core check, the
 * Stately view's offline note and cached page files.
 */
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRuntime,
  defineAgent,
  type Runtime,
  type WorkflowDefinitionInput,
  type WorkflowResult,
} from '../../src/index.js';
import { scratchDir, useScratch } from '../durability/helpers.js';
import { dagNodesInView, openInspector, seriousAxeViolations, useChromium } from './browser.js';
import { deferred } from './helpers.js';

const BROWSER_TEST_MS = 150_000;
const OUT = path.resolve('test-output/inspector');
const SIZES = [
  [1440, 900],
  [1024, 768],
  [390, 844],
] as const;

useScratch();
const browser = useChromium(OUT);
const contexts: BrowserContext[] = [];
let rt: Runtime | undefined;
let problems: string[][] = [];

afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close();
  await rt?.close();
  rt = undefined;
  problems = [];
});

async function open(url: string, size: readonly [number, number] = [1440, 900], bypassCSP = false) {
  const opened = await openInspector(browser(), url, {
    width: size[0],
    height: size[1],
    bypassCSP,
  });
  contexts.push(opened.context);
  problems.push(opened.problems);
  return opened.page;
}

/** quick; flaky (fails its first attempt); failer (always); hold (until released). */
async function runtime() {
  const gate = deferred();
  rt = await createRuntime({
    dataDir: await scratchDir('troupe-page-views-'),
    inspector: { port: 0, controls: true },
    agents: [
      defineAgent({ role: 'quick', concurrency: 20, run: async (task) => ({ done: task.id }) }),
      defineAgent({
        role: 'flaky',
        run: async (task, ctx) => {
          if (ctx.attempt === 1) throw new Error('rate limited: try again');
          return { summary: `analysed ${task.id}`, usage: { totalTokens: 42 }, turns: 2 };
        },
      }),
      defineAgent({
        role: 'failer',
        run: () => {
          throw new Error('payment declined by the bank');
        },
      }),
      defineAgent({
        role: 'hold',
        concurrency: 4,
        run: async (task, ctx) => {
          ctx.progress(0.5, 'half way');
          await gate.promise;
          return { done: task.id };
        },
      }),
    ],
  });
  return { rt, release: () => gate.resolve() };
}

const fetches = Array.from({ length: 12 }, (_, i) => ({
  id: `fetch-${i + 1}`,
  agent: 'quick',
  dependsOn: ['plan'],
}));

/** A fan-out, a retry that succeeds, a failure for good, and two tasks held in flight. */
const report: WorkflowDefinitionInput = {
  name: 'research report',
  maxConcurrency: 16,
  tasks: [
    { id: 'plan', agent: 'quick', description: 'Plan the research', input: { topic: 'tides' } },
    ...fetches,
    {
      id: 'merge-every-fetched-source-into-one-corpus',
      agent: 'quick',
      dependsOn: fetches.map((f) => f.id),
    },
    {
      id: 'analyse',
      agent: 'flaky',
      dependsOn: ['merge-every-fetched-source-into-one-corpus'],
      retry: { maxAttempts: 3, initialDelayMs: 5 },
    },
    { id: 'review', agent: 'hold', dependsOn: ['analyse'] },
    { id: 'write', agent: 'hold', dependsOn: ['analyse'] },
    { id: 'charge', agent: 'failer', dependsOn: ['analyse'], retry: { maxAttempts: 1 } },
    { id: 'publish', agent: 'quick', dependsOn: ['write', 'charge'] },
  ],
};

/** What each task node of a page shows, by task id. */
function nodeStatuses(page: Page): Promise<Record<string, string>> {
  return page.$$eval('[data-testid="dag"] g.task[data-task-id]', (nodes) =>
    Object.fromEntries(
      nodes.map((n) => [n.getAttribute('data-task-id'), n.getAttribute('data-status')]),
    ),
  );
}

function storedStatuses(result: WorkflowResult): Record<string, string> {
  const compensated = new Set(result.compensation?.compensated ?? []);
  return Object.fromEntries(
    Object.values(result.tasks).map((t) => [
      t.taskId,
      compensated.has(t.taskId) ? 'compensated' : t.status,
    ]),
  );
}

describe('ISSUE-17 inspector page', () => {
  it(
    'shows the same final statuses on the live page, on a page opened after the end, after a reload and in the store',
    async () => {
      const { rt, release } = await runtime();
      const live = await open(rt.inspector!.url);
      const handle = await rt.engine.startWithSagaPattern(
        {
          name: 'truth',
          tasks: [
            { id: 'book', agent: 'quick', compensation: 'undo' },
            { id: 'held', agent: 'hold' },
            { id: 'pay', agent: 'failer', dependsOn: ['book'], retry: { maxAttempts: 1 } },
            { id: 'ship', agent: 'quick', dependsOn: ['pay', 'held'] },
          ],
        },
        { undo: async () => undefined },
        { workflowId: 'truth-page' },
      );
      await live.waitForSelector('g.task[data-task-id="pay"][data-status="failed"]');
      release();
      const result = await handle.result;
      expect(result.status).toBe('compensated');
      const truth = storedStatuses(result);
      expect(truth).toMatchObject({ book: 'compensated', pay: 'failed', ship: 'cancelled' });
      await live.waitForFunction((want) => {
        const nodes = Array.from(
          document.querySelectorAll('[data-testid="dag"] g.task[data-task-id]'),
        );
        return (
          nodes.length === Object.keys(want).length &&
          nodes.every(
            (n) => n.getAttribute('data-status') === want[n.getAttribute('data-task-id') ?? ''],
          )
        );
      }, truth);
      expect(await nodeStatuses(live)).toEqual(truth);

      // Opened after the end: the newest run opens by itself, from the store.
      const late = await open(rt.inspector!.url);
      await late.waitForSelector('[data-testid="run-state"][data-run-status="compensated"]');
      await late.waitForSelector('g.task[data-task-id="ship"][data-status="cancelled"]');
      expect(await nodeStatuses(late)).toEqual(truth);
      await late.reload();
      await late.waitForSelector('g.task[data-task-id="book"][data-status="compensated"]');
      expect(await nodeStatuses(late)).toEqual(truth);
      // The legend names every mark, and each count carries a word, not only a colour.
      await late.click('[data-testid="legend"] summary');
      expect(await late.textContent('[data-testid="legend"]')).toContain('compensated');
      expect(await late.textContent('[data-count="compensated"]')).toContain('compensated 1');
      expect(problems.flat()).toEqual([]);
    },
    BROWSER_TEST_MS,
  );

  it(
    'centres the DAG: fit, zoom, minimap, fan-out group that expands, search; drawer with attempts, output and key; keyboard all the way',
    async () => {
      const { rt, release } = await runtime();
      const page = await open(rt.inspector!.url);
      const handle = await rt.engine.start(report, { workflowId: 'report-run' });
      await page.waitForSelector('g.task[data-task-id="review"][data-status="running"]');
      await page.waitForSelector('g.task[data-task-id="charge"][data-status="failed"]');
      await page.waitForSelector('[data-testid="run-state"][data-run-status="failing"]');
      // The fan-out is one group node.
      const group = page.locator('g.task.group[data-group="fetch-1..fetch-12"]');
      await group.waitFor();
      expect(await group.locator('title').textContent()).toContain('12 tasks');
      // The DAG takes the height left: most of the window, not a strip.
      const box = await page.locator('[data-testid="dag"]').boundingBox();
      expect(box!.height).toBeGreaterThan(400);
      // Zoom in changes the transform; Fit brings the whole graph in view.
      const transform = () => page.getAttribute('[data-testid="dag"] g.viewport', 'transform');
      const before = await transform();
      await page.click('[data-testid="dag"] [data-zoom="in"]');
      await page.waitForFunction(
        (b) =>
          document.querySelector('[data-testid="dag"] g.viewport')?.getAttribute('transform') !== b,
        before,
      );
      await page.click('[data-testid="dag"] [data-zoom="fit"]');
      const inView = await dagNodesInView(page);
      expect(inView).toBe(true);
      // Labels fit their boxes.
      const overflow = await page.$$eval(
        '[data-testid="dag"] g.task',
        (nodes) =>
          nodes.filter((n) => {
            const box = (n.querySelector('rect.box') as SVGGraphicsElement).getBBox();
            return Array.from(n.querySelectorAll('text')).some(
              (t) => t.getBBox().x + t.getBBox().width > box.x + box.width,
            );
          }).length,
      );
      expect(overflow).toBe(0);

      // Keyboard: Enter on a group expands it; Enter on a node opens its drawer.
      await group.focus();
      await page.keyboard.press('Enter');
      await page.waitForSelector('g.task[data-task-id="fetch-7"]');
      // Expanded, the graph is big enough for a minimap (shown while part of it is out of view).
      await page.waitForSelector('[data-testid="minimap"]', { state: 'attached' });
      await page.locator('g.task[data-task-id="analyse"]').focus();
      await page.keyboard.press('Enter');
      const drawer = page.locator('[data-testid="task-drawer"]');
      await drawer.locator('[data-testid="attempts"]').waitFor();
      // Succeeded after a retry: its output, and both attempts, the first with its error.
      expect(await drawer.getAttribute('hidden')).toBeNull();
      const drawerBox = await drawer.boundingBox();
      expect(drawerBox!.x + drawerBox!.width).toBeLessThanOrEqual(1440);
      expect(await drawer.locator('[data-testid="drawer-status"]').textContent()).toContain(
        'completed',
      );
      expect(await drawer.locator('[data-testid="task-output"]').textContent()).toContain(
        'analysed analyse',
      );
      expect(await drawer.locator('[data-attempt]').count()).toBe(2);
      expect(await drawer.locator('[data-attempt="1"]').textContent()).toContain(
        'rate limited: try again',
      );
      expect(await drawer.locator('[data-attempt="2"]').getAttribute('data-outcome')).toBe(
        'completed',
      );
      expect(await drawer.locator('[data-testid="task-error"]').count()).toBe(0);
      expect(await drawer.textContent()).toContain('LLM usage');
      expect(await drawer.locator('[data-testid="idempotency-key"]').textContent()).toBe(
        'report-run:analyse',
      );
      await page.keyboard.press('Escape');
      await drawer.waitFor({ state: 'hidden' });

      // Search by id: Enter shows the task and opens it.
      await page.fill('[data-testid="dag-search"]', 'review');
      await page.press('[data-testid="dag-search"]', 'Enter');
      await drawer.locator('[data-testid="idempotency-key"]:text("report-run:review")').waitFor();
      expect(await drawer.textContent()).toContain('half way');
      await page.keyboard.press('Escape');

      // Table rows are reachable by keyboard and open the drawer with Enter.
      await page.$eval('.task-table', (table) => {
        table.scrollTop = 0;
        table.dispatchEvent(new Event('scroll'));
      });
      await page.locator('[data-task-row="plan"]').focus();
      await page.keyboard.press('Enter');
      await drawer.locator('[data-testid="idempotency-key"]:text("report-run:plan")').waitFor();
      expect(await drawer.textContent()).toContain('tides');
      await page.keyboard.press('Escape');

      // Screenshots while the run goes, with a failure: every size, no sideways scrolling.
      await page.waitForSelector('g.task[data-task-id="analyse"][data-status="completed"]');
      for (const [width, height] of SIZES) {
        await page.setViewportSize({ width, height });
        await page.click('[data-testid="dag"] [data-zoom="fit"]');
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
          width,
        );
        const dagBox = await page.locator('[data-testid="dag"]').boundingBox();
        expect(dagBox!.width).toBeGreaterThan(width * 0.5);
        await page.screenshot({ path: path.join(OUT, `run-${width}x${height}.png`) });
      }
      await page.locator('g.task[data-task-id="analyse"]').click();
      await drawer.locator('[data-testid="attempts"]').waitFor();
      const phoneDrawer = await drawer.boundingBox();
      expect(phoneDrawer!.x).toBeGreaterThanOrEqual(0);
      expect(phoneDrawer!.x + phoneDrawer!.width).toBeLessThanOrEqual(390);
      await page.screenshot({ path: path.join(OUT, 'drawer-390x844.png') });
      await page.setViewportSize({ width: 1440, height: 900 });
      await page.screenshot({ path: path.join(OUT, 'drawer-1440x900.png') });

      release();
      expect((await handle.result).status).toBe('failed');
      await page.waitForSelector('g.task[data-task-id="publish"][data-status="cancelled"]');
      expect(problems.flat()).toEqual([]);
    },
    BROWSER_TEST_MS,
  );

  it(
    'passes axe-core with no serious or critical violations, on a live run and a stored one',
    async () => {
      const { rt, release } = await runtime();
      const page = await open(rt.inspector!.url, [1440, 900], true);
      const handle = await rt.engine.start(report, { workflowId: 'axe-run' });
      await page.waitForSelector('g.task[data-task-id="review"][data-status="running"]');
      await page.waitForSelector('[data-testid="statechart"] g.state');
      const audit = () => seriousAxeViolations(page);
      expect(await audit()).toEqual([]);
      await page.locator('g.task[data-task-id="analyse"]').click();
      await page.waitForSelector('[data-testid="attempts"]');
      expect(await audit()).toEqual([]);
      release();
      await handle.result;
      expect(problems.flat()).toEqual([]);
    },
    BROWSER_TEST_MS,
  );

  it('explains offline use on the Stately view, caches the page files by content, and loads the answer check apart', async () => {
    const { rt } = await runtime();
    const stately = await (await fetch(new URL('/stately', rt.inspector!.url))).text();
    expect(stately).toContain('needs the internet');
    expect(stately).toContain('offline');
    const worker = await fetch(new URL('/elk-worker.js', rt.inspector!.url));
    expect(worker.headers.get('cache-control')).not.toContain('no-store');
    const etag = worker.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);
    await worker.arrayBuffer();
    const again = await fetch(new URL('/elk-worker.js', rt.inspector!.url), {
      headers: { 'If-None-Match': etag! },
    });
    expect(again.status).toBe(304);
    // The page starts with its own code only: the answer check (zod) is a file
    // of its own that the page fetches once it shows a wait.
    const script = await (await fetch(new URL('/inspector.js', rt.inspector!.url))).text();
    const answerCheck = await fetch(new URL('/answer-check.js', rt.inspector!.url));
    expect(answerCheck.status).toBe(200);
    expect(answerCheck.headers.get('etag')).toMatch(/^".+"$/);
    const checkScript = await answerCheck.text();
    expect(script.length).toBeLessThan(200_000);
    expect(checkScript.length).toBeGreaterThan(script.length);
    expect(script).not.toContain('fromJSONSchema');
    expect(checkScript).toContain('fromJSONSchema');
  });
});
