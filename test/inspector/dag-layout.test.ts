/**
 * ISSUE-17 (scale): the DAG is drawn at once from the page's own layout
 * (layers by dependency depth) and moved to elkjs's layout when its worker
 * answers, keeping what the user did meanwhile. The worker's script is held
 * back by the test (a route that answers when told), so "before elk
 * answers" is a state the test controls, not a race.
 */
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { quickLayout } from '../../inspector/src/dag-quick-layout.js';
import { createRuntime, defineAgent, type Runtime } from '../../src/index.js';
import { dagNodesInView, useChromium } from './browser.js';
import { deferred } from './helpers.js';

const BROWSER_TEST_MS = 120_000;
const browser = useChromium(path.resolve('test-output'));
let context: BrowserContext | undefined;
let rt: Runtime | undefined;

afterEach(async () => {
  await context?.close();
  context = undefined;
  await rt?.close();
  rt = undefined;
});

describe('quick layout', () => {
  const node = (id: string, dependsOn: string[] = []) => ({
    id,
    dependsOn,
    width: 120,
    height: 44,
  });

  it('puts a chain in one row and says elk would draw it the same', () => {
    const { laid, final } = quickLayout([
      node('plan'),
      node('group:fetch', ['plan']),
      node('report', ['group:fetch']),
    ]);
    expect(final).toBe(true);
    const [plan, fetch, report] = laid.children!;
    expect(plan!.x).toBeLessThan(fetch!.x!);
    expect(fetch!.x).toBeLessThan(report!.x!);
    expect(new Set(laid.children!.map((c) => c.y))).toEqual(new Set([12]));
    expect(laid.edges![0]!.sections![0]).toMatchObject({
      startPoint: { x: plan!.x! + 120, y: plan!.y! + 22 },
      endPoint: { x: fetch!.x, y: fetch!.y! + 22 },
    });
    expect(laid.width).toBe(12 + 3 * 120 + 2 * 48 + 12);
  });

  it('stacks the nodes of a layer and leaves branching graphs and long edges to elk', () => {
    const diamond = quickLayout([
      node('a'),
      node('b', ['a']),
      node('c', ['a']),
      node('d', ['b', 'c']),
    ]);
    expect(diamond.final).toBe(false);
    const at = new Map(diamond.laid.children!.map((c) => [c.id, c]));
    expect(at.get('b')!.x).toBe(at.get('c')!.x);
    expect(at.get('c')!.y! - at.get('b')!.y!).toBe(44 + 16);
    // The single nodes are centred on the two-node layer.
    expect(at.get('a')!.y! + 22).toBe((at.get('b')!.y! + at.get('c')!.y! + 44) / 2);
    expect(diamond.laid.height).toBe(2 * 44 + 16 + 24);
    // a → c skips a layer: elk routes it around b, so this layout is not final.
    expect(quickLayout([node('a'), node('b', ['a']), node('c', ['a', 'b'])]).final).toBe(false);
  });
});

describe('DAG drawn before elkjs answers', () => {
  /** Four 250-task fan-outs behind a gate: four group nodes in one layer, 1,001 tasks (one expanded is still a graph). */
  async function bigRun(): Promise<{ release: () => void }> {
    const gate = deferred<void>();
    rt = await createRuntime({ dataDir: false, inspector: { port: 0 } });
    rt.registerAgent(
      defineAgent({ role: 'gate', run: async () => gate.promise.then(() => 'open') }),
    );
    rt.registerAgent(defineAgent({ role: 'work', concurrency: 50, run: async () => 'ok' }));
    const fanOut = (prefix: string) =>
      Array.from({ length: 250 }, (_, i) => ({
        id: `${prefix}-${i + 1}`,
        agent: 'work',
        dependsOn: ['gate'],
      }));
    await rt.engine.start(
      {
        name: 'four fan-outs',
        maxConcurrency: 50,
        tasks: [
          { id: 'gate', agent: 'gate' },
          ...['fetch', 'calc', 'rank', 'sort'].flatMap((prefix) => fanOut(prefix)),
        ],
      },
      { workflowId: 'four-fan-outs' },
    );
    return { release: () => gate.resolve() };
  }

  /**
   * Starts the big run and opens a page whose elk worker script is held
   * until `releaseElk` is called; both are let go when `use` ends.
   */
  async function withElkHeld(use: (page: Page, releaseElk: () => void) => Promise<void>) {
    const run = await bigRun();
    context = await browser().newContext({ viewport: { width: 1440, height: 900 } });
    const held = deferred<void>();
    await context.route('**/elk-worker.js', async (route) => {
      await held.promise;
      await route.continue();
    });
    const page = await context.newPage();
    try {
      await page.goto(rt!.inspector!.url);
      await use(page, () => held.resolve());
    } finally {
      held.resolve();
      run.release();
    }
  }

  const viewTransform = (page: Page) =>
    page.getAttribute('[data-testid="dag"] g.viewport', 'transform');

  it(
    'shows the boxes with the worker held, then moves them to elk places keeping zoom and focus',
    async () => {
      await withElkHeld(async (page, releaseElk) => {
        await page.waitForSelector(
          'svg.dag-svg[data-layout="quick"] g.task.group[data-group="fetch-1..fetch-250"]',
        );
        await page.waitForSelector('g.task.group[data-group="calc-1..calc-250"]');
        expect(await page.locator('[data-testid="dag"] g.task').count()).toBe(5);
        // The user zooms in and puts the focus on a group before elk answers.
        const before = await viewTransform(page);
        await page.click('[data-testid="dag"] [data-zoom="in"]');
        await page.waitForFunction(
          (b) =>
            document.querySelector('[data-testid="dag"] g.viewport')?.getAttribute('transform') !==
            b,
          before,
        );
        const zoomed = await viewTransform(page);
        await page.locator('g.task.group[data-group="calc-1..calc-250"]').focus();
        releaseElk();
        await page.waitForSelector('svg.dag-svg[data-layout="elk"]');
        // Same elements, moved: the focus and the user's view are where they were.
        expect(await page.evaluate(() => document.activeElement?.getAttribute('data-group'))).toBe(
          'calc-1..calc-250',
        );
        expect(await viewTransform(page)).toBe(zoomed);
        expect(await page.locator('[data-testid="dag"] g.task').count()).toBe(5);
        expect(await page.locator('[data-testid="dag"] path.dep').count()).toBe(4);
        // Enter on the focused group still expands it.
        await page.keyboard.press('Enter');
        await page.waitForSelector('g.task[data-task-id="calc-7"]');
      });
    },
    BROWSER_TEST_MS,
  );

  it(
    'fits the whole graph again when elk answers after Fit',
    async () => {
      await withElkHeld(async (page, releaseElk) => {
        await page.waitForSelector('svg.dag-svg[data-layout="quick"] g.task.group');
        await page.click('[data-testid="dag"] [data-zoom="in"]');
        await page.click('[data-testid="dag"] [data-zoom="fit"]');
        expect(await dagNodesInView(page)).toBe(true);
        releaseElk();
        await page.waitForSelector('svg.dag-svg[data-layout="elk"]');
        expect(await dagNodesInView(page)).toBe(true);
        await page.locator('g.task.group[data-group="fetch-1..fetch-250"]').click();
        await page.waitForSelector('g.task[data-task-id="fetch-3"]');
      });
    },
    BROWSER_TEST_MS,
  );
});
