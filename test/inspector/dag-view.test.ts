/// <reference lib="dom" />
/**
 * Issue 17 item 2, in headless Chromium: the DAG's automatic view on a graph
 * too wide to fit at a readable size. A task that fails after the page
 * opened (while work went on elsewhere) is brought into view, and so is it
 * after the window shrinks to a phone's; a view the user moved stays where
 * the user put it.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRuntime, defineAgent } from '../../src/index.js';
import { openInspector, useChromium, usePageCleanup } from './browser.js';
import { deferred } from './helpers.js';

const BROWSER_TEST_MS = 120_000;
const OUT = path.resolve('test-output/inspector');

const browser = useChromium(OUT);
const cleanup = usePageCleanup();

/** Whether a task's box lies wholly inside the DAG's frame (run in the page). */
function boxInFrame(taskId: string): boolean {
  const frame = document.querySelector('[data-testid="dag"] svg.dag-svg')!.getBoundingClientRect();
  const box = document.querySelector(`g.task[data-task-id="${taskId}"]`)?.getBoundingClientRect();
  return (
    box !== undefined &&
    box.left >= frame.left - 1 &&
    box.right <= frame.right + 1 &&
    box.top >= frame.top - 1 &&
    box.bottom <= frame.bottom + 1
  );
}

describe('ISSUE-17 item 2 the DAG view', () => {
  it(
    'brings a task that fails after the page opened into view, again after a resize to a phone, and keeps a view the user moved',
    async () => {
      const work = deferred();
      const decline = deferred();
      const rt = await createRuntime({
        dataDir: false,
        inspector: { port: 0 },
        agents: [
          defineAgent({ role: 'quick', run: async (task) => ({ done: task.id }) }),
          defineAgent({
            role: 'hold',
            run: async () => {
              await work.promise;
              return 'held';
            },
          }),
          defineAgent({
            role: 'billing',
            run: async () => {
              await decline.promise;
              throw new Error('payment declined');
            },
          }),
        ],
      });
      cleanup.rt = rt;
      const opened = await openInspector(browser(), rt.inspector!.url);
      cleanup.context = opened.context;
      const page = opened.page;
      // A chain of 14 steps is far too wide for 1440 px at a readable size.
      const steps = Array.from({ length: 14 }, (_, i) => ({
        id: `step-${i + 1}`,
        agent: 'quick',
        dependsOn: i === 0 ? [] : [`step-${i}`],
      }));
      const handle = await rt.engine.start(
        {
          name: 'wide',
          tasks: [
            { id: 'held', agent: 'hold' },
            ...steps,
            { id: 'pay', agent: 'billing', dependsOn: ['step-14'], retry: { maxAttempts: 1 } },
            { id: 'ship', agent: 'quick', dependsOn: ['pay'] },
          ],
        },
        { workflowId: 'wide-run' },
      );
      await page.waitForSelector('g.task[data-task-id="pay"][data-status="running"]');
      // The view the page chose: readable, on the task that ran first; `pay` is off to the right.
      await page.waitForFunction(
        () =>
          (document.querySelector('[data-testid="dag"] g.viewport')?.getAttribute('transform') ??
            '') !== '',
      );
      expect(await page.evaluate(boxInFrame, 'pay')).toBe(false);
      decline.resolve();
      await page.waitForSelector('g.task[data-task-id="pay"][data-status="failed"]');
      await page.waitForFunction(boxInFrame, 'pay');
      // No empty band beside a graph wider than its frame: its far end (`ship`, after `pay`)
      // sits at the right edge, within the layout's padding (12) and the view's margin (12).
      const gap = await page.evaluate(() => {
        const frame = document
          .querySelector('[data-testid="dag"] svg.dag-svg')!
          .getBoundingClientRect();
        const drawn = document
          .querySelector('[data-testid="dag"] g.viewport')!
          .getBoundingClientRect();
        return { left: drawn.left - frame.left, right: frame.right - drawn.right };
      });
      expect(gap.left).toBeLessThan(0);
      expect(gap.right).toBeGreaterThanOrEqual(0);
      expect(gap.right).toBeLessThanOrEqual(24);

      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForFunction(boxInFrame, 'pay');
      await page.screenshot({ path: path.join(OUT, 'dag-follows-failure-390x844.png') });

      // Once the user has moved the view, neither a resize nor a change moves it.
      await page.click('[data-testid="dag"] [data-zoom="in"]');
      const moved = await page.getAttribute('[data-testid="dag"] g.viewport', 'transform');
      await page.setViewportSize({ width: 1024, height: 768 });
      // Two frames: the resize has been laid out and observed.
      await page.evaluate(
        () =>
          new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(0)))),
      );
      work.resolve();
      await page.waitForSelector('g.task[data-task-id="held"][data-status="completed"]');
      expect(await page.getAttribute('[data-testid="dag"] g.viewport', 'transform')).toBe(moved);
      expect((await handle.result).status).toBe('failed');
      expect(opened.problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );
});
