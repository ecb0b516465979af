/// <reference lib="dom" />
/**
 * Issue 17 item 4, in headless Chromium: the statechart panel of a run.
 * Its labels are drawn at a readable size (never fitted down to 9 px), the
 * active state is in view as the run moves from `running` to `paused` and
 * back, and after the run ends its chart stays with the final state in
 * view; the enlarged chart does the same.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { openInspector, useChromium, usePageCleanup } from './browser.js';
import { heldRuntime } from './helpers.js';

const BROWSER_TEST_MS = 120_000;
const OUT = path.resolve('test-output/inspector');

const browser = useChromium(OUT);
const cleanup = usePageCleanup();

/** The smallest label of a chart as drawn on screen, in px: its font size times the zoom. */
function smallestLabel(page: Page, chart: string): Promise<number> {
  return page.$eval(chart, (svg) => {
    const transform = svg.querySelector('g.viewport')?.getAttribute('transform') ?? '';
    const k = Number(/scale\(([\d.]+)/.exec(transform)?.[1] ?? 1);
    const sizes = Array.from(svg.querySelectorAll('text')).map(
      (t) => Number.parseFloat(getComputedStyle(t).fontSize) * k,
    );
    return Math.min(...sizes);
  });
}

/** Whether the chart's innermost active state lies wholly inside the chart's frame. */
function activeInView(page: Page, chart: string, state: string): Promise<unknown> {
  return page.waitForFunction(
    ([selector, path]) => {
      const svg = document.querySelector(selector!);
      const box = svg
        ?.querySelector(`g.state.active[data-path="${path}"] > rect`)
        ?.getBoundingClientRect();
      const frame = svg?.getBoundingClientRect();
      return (
        box !== undefined &&
        frame !== undefined &&
        box.left >= frame.left - 1 &&
        box.right <= frame.right + 1 &&
        box.top >= frame.top - 1 &&
        box.bottom <= frame.bottom + 1
      );
    },
    [chart, state],
  );
}

describe('ISSUE-17 item 4 statechart view', () => {
  it(
    'draws readable labels, keeps the active state in view through pause, resume and the end, and when enlarged',
    async () => {
      const { rt, release } = await heldRuntime();
      cleanup.rt = rt;
      const opened = await openInspector(browser(), rt.inspector!.url);
      cleanup.context = opened.context;
      const page = opened.page;
      const handle = await rt.engine.start(
        { name: 'chart', tasks: [{ id: 'held', agent: 'hold' }] },
        { workflowId: 'chart-run' },
      );
      const panel = '[data-testid="statechart"] svg.chart-svg';
      await page.waitForSelector(`${panel} g.state.active[data-path="running"]`);
      await activeInView(page, panel, 'running');
      expect(await smallestLabel(page, panel)).toBeGreaterThanOrEqual(11);

      await rt.engine.pause(handle.workflowId);
      await activeInView(page, panel, 'paused');
      await rt.engine.resume(handle.workflowId);
      await activeInView(page, panel, 'running');

      release('held');
      expect((await handle.result).status).toBe('completed');
      await page.waitForSelector('h2:text("Statechart — workflow:chart-run (ended)")');
      await activeInView(page, panel, 'completed');
      expect(await smallestLabel(page, panel)).toBeGreaterThanOrEqual(11);
      await page.screenshot({ path: path.join(OUT, 'statechart-ended-1440x900.png') });

      await page.click('button.enlarge');
      const big = '.overlay svg.full';
      await activeInView(page, big, 'completed');
      expect(await smallestLabel(page, big)).toBeGreaterThanOrEqual(11);
      await page.keyboard.press('Escape');
      await page.waitForSelector('.overlay', { state: 'hidden' });
      expect(opened.problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );
});
