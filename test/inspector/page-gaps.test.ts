/// <reference lib="dom" />
/**
 * Issue 17 items 4, 5 and 7, in headless Chromium: what a user auditing the
 * page found missing. A page opened after the run ended draws that run's
 * statechart without an actor being picked.
 */
import { describe, expect, it } from 'vitest';
import { createRuntime, defineAgent } from '../../src/index.js';
import { scratchDir, useScratch } from '../durability/helpers.js';
import { dagNodesInView, openInspector, useChromium, usePageCleanup } from './browser.js';

const BROWSER_TEST_MS = 120_000;

useScratch();
const browser = useChromium('test-output/inspector');
const cleanup = usePageCleanup();

async function runtime(dataDir?: string) {
  const rt = await createRuntime({
    dataDir: dataDir ?? (await scratchDir('troupe-page-gaps-')),
    checkpointInterval: 1,
    inspector: { port: 0, controls: true },
    agents: [defineAgent({ role: 'quick', run: async (task) => ({ done: task.id }) })],
  });
  cleanup.rt = rt;
  return rt;
}

const chain = {
  name: 'chain',
  tasks: [
    { id: 'one', agent: 'quick' },
    { id: 'two', agent: 'quick', dependsOn: ['one'] },
  ],
};

describe('ISSUE-17 page gaps', () => {
  it(
    'item 4: a page opened after the run ended shows that run statechart, in its final state, with nothing picked',
    async () => {
      const dataDir = await scratchDir('troupe-page-gaps-');
      const first = await runtime(dataDir);
      await (await first.engine.start(chain, { workflowId: 'ended-1' })).result;
      const showsEndedChart = async (url: string) => {
        const { page, context, problems } = await openInspector(browser(), url);
        cleanup.context = context;
        await page.waitForSelector('[data-testid="run-state"][data-run-status="completed"]');
        const chart = page.locator('section.statechart');
        await chart.locator('g.state.active[data-path="completed"]').waitFor();
        expect(await chart.locator('h2').first().textContent()).toBe(
          'Statechart — workflow:ended-1 (ended)',
        );
        expect(problems).toEqual([]);
        await context.close();
      };
      await showsEndedChart(first.inspector!.url);
      // Another process on the same store, which has run nothing: the same chart.
      await first.close();
      const second = await runtime(dataDir);
      await showsEndedChart(second.inspector!.url);
    },
    BROWSER_TEST_MS,
  );

  it(
    'item 5: "Runs ended in this session" shows only once a run has ended while the page was open',
    async () => {
      const rt = await runtime();
      const { page, context } = await openInspector(browser(), rt.inspector!.url);
      cleanup.context = context;
      const heading = page.getByRole('heading', { name: 'Runs ended in this session' });
      await page.locator('button[data-actor="orchestrator"]').waitFor();
      expect(await heading.count()).toBe(0);
      await (await rt.engine.start(chain, { workflowId: 'ends-here' })).result;
      await heading.waitFor();
      await page.locator('ul.ended button[data-actor="workflow:ends-here"]').waitFor();
    },
    BROWSER_TEST_MS,
  );

  it(
    'item 5: after Fork and after Replay the focus is on the new run heading, and the new run is announced',
    async () => {
      const rt = await runtime();
      await (await rt.engine.start(chain, { workflowId: 'source-1' })).result;
      const { page, context, problems } = await openInspector(browser(), rt.inspector!.url);
      cleanup.context = context;
      /** Waits until the focus is on the heading of a run other than `from`, and returns that run's id. */
      const focusedNewRun = async (from: string) => {
        await page.waitForFunction((from) => {
          const meta = document.querySelector('[data-testid="run-panel"] .run-meta')?.textContent;
          return document.activeElement?.id === 'run-title' && !!meta && !meta.startsWith(from);
        }, from);
        const id = (await page.textContent('[data-testid="run-panel"] .run-meta'))!.split(' ')[0]!;
        await expect
          .poll(() => page.textContent('[data-testid="announce"]'))
          .toContain(`Opened the new run chain (${id})`);
        return id;
      };
      await page.waitForSelector('[data-testid="run-state"][data-run-status="completed"]');
      await page.locator('[data-testid="checkpoints"] button.fork').first().click();
      const forked = await focusedNewRun('source-1');
      expect((await rt.engine.list()).find((r) => r.workflowId === forked)?.forkedFrom).toEqual(
        expect.objectContaining({ workflowId: 'source-1' }),
      );

      await page.click('[data-testid="stored-runs"] button[data-workflow-id="source-1"]');
      await page.waitForSelector('[data-testid="replay"]:enabled');
      await page.focus('[data-testid="replay"]');
      await page.keyboard.press('Enter');
      const replayed = await focusedNewRun('source-1');
      expect((await rt.engine.list()).find((r) => r.workflowId === replayed)?.replayOf).toBe(
        'source-1',
      );
      // Tab goes on from the run, not from the top of the page.
      await page.keyboard.press('Tab');
      expect(
        await page.evaluate(() =>
          document.querySelector('[data-testid="run-panel"]')?.contains(document.activeElement),
        ),
      ).toBe(true);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );

  it(
    'item 2: on a phone the minimap is small, and hidden while the whole graph is in view',
    async () => {
      const rt = await runtime();
      const steps = Array.from({ length: 18 }, (_, i) => ({
        id: `step-${String.fromCharCode(97 + i)}`,
        agent: 'quick',
        dependsOn: i === 0 ? [] : [`step-${String.fromCharCode(96 + i)}`],
      }));
      await (await rt.engine.start({ name: 'long chain', tasks: steps })).result;
      const { page, context } = await openInspector(browser(), rt.inspector!.url, {
        width: 390,
        height: 844,
      });
      cleanup.context = context;
      const minimap = page.locator('[data-testid="minimap"]');
      await minimap.waitFor({ state: 'attached' });
      const dag = page.locator('[data-testid="dag"]');
      await dag.locator('[data-zoom="fit"]').click();
      await expect.poll(() => dagNodesInView(page)).toBe(true);
      await minimap.waitFor({ state: 'hidden' });
      // Zoomed in, part of the graph is out of view: the minimap shows, and small.
      await dag.locator('[data-zoom="in"]').click();
      await dag.locator('[data-zoom="in"]').click();
      await minimap.waitFor({ state: 'visible' });
      const frame = (await dag.locator('svg.dag-svg').boundingBox())!;
      const map = (await minimap.boundingBox())!;
      expect(map.width * map.height).toBeLessThan(0.1 * frame.width * frame.height);
      await page.screenshot({ path: 'test-output/inspector/minimap-390x844.png' });
    },
    BROWSER_TEST_MS,
  );

  it(
    'item 5: the Stately view says at once that stately.ai cannot be reached, and never shows a browser error page',
    async () => {
      const rt = await runtime();
      const context = await browser().newContext({ viewport: { width: 1024, height: 768 } });
      cleanup.context = context;
      // No internet: every request to stately.ai fails as it would offline.
      await context.route('https://stately.ai/**', (route) => route.abort('internetdisconnected'));
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(new URL('/stately', rt.inspector!.url).href);
      const status = page.locator('#status');
      // Not the 8-second wait: the failed request tells.
      await status.filter({ hasText: 'stately.ai cannot be reached' }).waitFor();
      expect(await status.getAttribute('role')).toBe('alert');
      expect(await status.textContent()).toContain('offline');
      expect(await page.locator('#status a[href="/"]').count()).toBe(1);
      // The frame, whose load failed, is not shown.
      expect(await page.locator('iframe#inspector').isHidden()).toBe(true);
      // The browser goes offline: said so at once.
      await context.setOffline(true);
      await status.filter({ hasText: 'This browser is offline' }).waitFor();
      await page.screenshot({ path: 'test-output/inspector/stately-offline-1024x768.png' });
      expect(errors).toEqual([]);
    },
    BROWSER_TEST_MS,
  );

  it(
    'item 4: the enlarged statechart is a dialog named by a visible heading that names the actor',
    async () => {
      const rt = await runtime();
      await (await rt.engine.start(chain, { workflowId: 'big-1' })).result;
      const { page, context } = await openInspector(browser(), rt.inspector!.url);
      cleanup.context = context;
      await page.locator('button[data-actor="orchestrator"]').click();
      await page.locator('section.statechart svg.chart-svg').waitFor();
      await page.click('button.enlarge');
      const dialog = page.getByRole('dialog', { name: 'Statechart — orchestrator' });
      await dialog.waitFor();
      const heading = dialog.getByRole('heading', { name: 'Statechart — orchestrator' });
      expect(await heading.isVisible()).toBe(true);
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
    },
    BROWSER_TEST_MS,
  );
});
