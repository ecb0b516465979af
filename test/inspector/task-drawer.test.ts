/// <reference lib="dom" />
/**
 * Issue 17 items 1 and 3, in headless Chromium: the task drawer of a run
 * paused while a retry waits out its backoff. A task under way shows when
 * its attempt started. The backoff ends during the
 * pause: the task is pending again and its failed attempt is shown as
 * failed, not as a retry still in waiting. After the run resumes, the
 * durations say how much of them the run spent paused and how much was
 * retry backoff. Times come from an injected clock, so every figure is exact.
 */
import type { Locator } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createRuntime, defineAgent } from '../../src/index.js';
import { openInspector, useChromium, usePageCleanup } from './browser.js';
import { deferred, until } from './helpers.js';

const BROWSER_TEST_MS = 120_000;

const browser = useChromium('test-output/inspector');
const cleanup = usePageCleanup();

/** The drawer's value for a key (`duration`, `attempts`, ...). */
function drawerValue(drawer: Locator, key: string): Locator {
  return drawer.locator(`dt:text-is("${key}") + dd`);
}

describe('ISSUE-17 item 3 task drawer', () => {
  it(
    'in a run paused while a retry waits: the waited-out attempt is failed, and durations name the pause and the backoff',
    async () => {
      const clock = new SimulatedClock();
      clock.set(Date.UTC(2026, 0, 5, 9, 30));
      const work = deferred();
      const rt = await createRuntime({
        dataDir: false,
        clock,
        inspector: { port: 0 },
        agents: [
          defineAgent({
            role: 'flaky',
            run: (_task, ctx) => {
              if (ctx.attempt === 1) throw new Error('rate limited: try again');
              return { summary: 'second time' };
            },
          }),
          defineAgent({
            role: 'hold',
            run: async () => {
              await work.promise;
              return 'held';
            },
          }),
        ],
      });
      cleanup.rt = rt;
      const ready: string[] = [];
      rt.engine.on('task.ready', (event) => {
        ready.push(event.taskId);
      });
      const opened = await openInspector(browser(), rt.inspector!.url);
      cleanup.context = opened.context;
      const page = opened.page;
      const handle = await rt.engine.start(
        {
          name: 'paused retry',
          tasks: [
            { id: 'flaky', agent: 'flaky', retry: { maxAttempts: 2, initialDelayMs: 100 } },
            { id: 'held', agent: 'hold' },
          ],
        },
        { workflowId: 'paused-retry' },
      );
      await page.waitForSelector('g.task[data-task-id="flaky"][data-status="retrying"]');
      await page.waitForSelector('g.task[data-task-id="held"][data-status="running"]');
      const drawer = page.locator('[data-testid="task-drawer"]');
      // A task under way says when its attempt started (its run learns that only at the end).
      await page.locator('g.task[data-task-id="held"]').click();
      await drawer.locator('[data-attempt="1"][data-outcome="running"]').waitFor();
      const started = await drawerValue(drawer, 'started').textContent();
      expect(started).toMatch(/^\d\d:\d\d:\d\d\.\d{3}$/);
      expect(await drawer.locator('[data-attempt="1"] td').nth(3).textContent()).toBe(started);
      await page.locator('g.task[data-task-id="flaky"]').click();
      await drawer.locator('[data-attempt="1"][data-outcome="retrying"]').waitFor();

      // 50 ms of the backoff pass, then the run pauses and the backoff ends inside the pause.
      clock.increment(50);
      await rt.engine.pause(handle.workflowId);
      await page.waitForSelector('[data-testid="run-state"][data-run-status="paused"]');
      clock.increment(950);
      await until(() => ready.length > 0, 'the backoff to end');
      expect(ready).toEqual(['flaky']);
      expect((await rt.engine.getState(handle.workflowId))?.tasks.flaky).toMatchObject({
        status: 'pending',
        attempts: 1,
      });
      await drawer.locator('[data-testid="drawer-status"][data-status="pending"]').waitFor();
      await drawer.locator('[data-attempt="1"][data-outcome="failed"]').waitFor();
      expect(await drawer.locator('[data-attempt]').count()).toBe(1);

      // Resumed after 5 s paused in all: the retry runs and succeeds.
      clock.increment(4_050);
      await rt.engine.resume(handle.workflowId);
      await drawer.locator('[data-testid="drawer-status"][data-status="completed"]').waitFor();
      await drawer.locator('[data-attempt="2"][data-outcome="completed"]').waitFor();
      expect(await drawer.locator('[data-testid="task-output"]').textContent()).toContain(
        'second time',
      );
      expect(await drawer.locator('[data-testid="task-error"]').count()).toBe(0);
      await drawerValue(drawer, 'duration').filter({ hasText: 'with the run paused' }).waitFor();
      expect(await drawerValue(drawer, 'duration').textContent()).toBe(
        '5.05 s from the first start to the end, including 5.00 s with the run paused and 50 ms of retry backoff between attempts',
      );

      // A task that ran through the pause says so too.
      clock.increment(950);
      work.resolve();
      expect((await handle.result).status).toBe('completed');
      await page.locator('g.task[data-task-id="held"]').click();
      await drawer.locator('[data-testid="drawer-status"][data-status="completed"]').waitFor();
      await drawerValue(drawer, 'duration').filter({ hasText: 'with the run paused' }).waitFor();
      expect(await drawerValue(drawer, 'duration').textContent()).toBe(
        '6.00 s from the first start to the end, including 5.00 s with the run paused',
      );
      expect(opened.problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );
});
