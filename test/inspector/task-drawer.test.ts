/// <reference lib="dom" />
/**
 * Issue 17 items 1 and 3, in headless Chromium: the task drawer of a run
 * paused while a retry waits out its backoff. A task under way shows when
 * its attempt started. The backoff ends during the
 * pause: the task is pending again and its failed attempt is shown as
 * failed, not as a retry still in waiting. After the run resumes, the
 * durations say how much of them the run spent paused and how much was
 * retry backoff. Times come from an injected clock, so every figure is exact.
 * A stored run's drawer, on a page of a later runtime, lists every attempt
 * and what the task's compensation returned.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createRuntime, defineAgent } from '../../src/index.js';
import { openInspector, pageTime, useChromium, usePageCleanup } from './browser.js';
import { deferred, until } from './helpers.js';

const BROWSER_TEST_MS = 120_000;

const browser = useChromium('test-output/inspector');
const cleanup = usePageCleanup();

const dataDirs: string[] = [];
afterAll(() => Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true }))));

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

describe('ISSUE-17 item 3 task drawer of a stored run', () => {
  it(
    'a page opened on a store after its runtime closed lists every attempt with its times and error, and what the compensation returned',
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'troupe-drawer-'));
      dataDirs.push(dataDir);
      const agents = [
        defineAgent({
          role: 'worker',
          run: (task, ctx) => {
            if (task.id === 'ship') throw new Error('no courier');
            if (ctx.attempt === 1) throw new Error('card network busy');
            return { chargeId: 'ch_1' };
          },
        }),
      ];
      const first = await createRuntime({ dataDir, durable: true, agents });
      first.engine.registerCompensations('order', {
        refund: () => ({ refundId: 're_77' }),
      });
      const result = await first.engine.execute(
        {
          name: 'order',
          saga: true,
          tasks: [
            {
              id: 'charge',
              agent: 'worker',
              compensation: 'refund',
              retry: { maxAttempts: 2, initialDelayMs: 1 },
            },
            { id: 'ship', agent: 'worker', dependsOn: ['charge'] },
          ],
        },
        { workflowId: 'stored-order' },
      );
      expect(result.status).toBe('compensated');
      await first.close();

      const rt = await createRuntime({ dataDir, durable: true, inspector: { port: 0 } });
      cleanup.rt = rt;
      const opened = await openInspector(browser(), rt.inspector!.url);
      cleanup.context = opened.context;
      const page = opened.page;
      await page.locator('g.task[data-task-id="charge"]').click();
      const drawer = page.locator('[data-testid="task-drawer"]');
      await drawer.locator('[data-attempt="2"][data-outcome="completed"]').waitFor();
      const failed = drawer.locator('[data-attempt="1"][data-outcome="failed"] td');
      const charge = result.tasks.charge!;
      const first1 = charge.failedAttempts![0]!;
      expect(await failed.nth(3).textContent()).toBe(await pageTime(page, first1.startedAt!));
      expect(await failed.nth(4).textContent()).toBe(await pageTime(page, first1.endedAt));
      expect(await failed.nth(5).textContent()).toBe('card network busy');
      const last = drawer.locator('[data-attempt="2"] td');
      expect(await last.nth(3).textContent()).toBe(
        await pageTime(page, charge.lastAttemptStartedAt!),
      );
      expect(await drawer.locator('[data-testid="compensation-output"]').textContent()).toContain(
        're_77',
      );
      expect(opened.problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );
});

describe('ISSUE-17 item 3 progress messages', () => {
  it(
    'the drawer lists each progress message the agent reported, a repeated message as one line with its latest fraction',
    async () => {
      const work = deferred();
      const rt = await createRuntime({
        dataDir: false,
        inspector: { port: 0 },
        agents: [
          defineAgent({
            role: 'crawler',
            run: async (_task, ctx) => {
              ctx.progress(0.1, 'fetching pages');
              ctx.progress(0.5, 'fetching pages');
              ctx.progress(0.9, 'parsing');
              await work.promise;
              return 'crawled';
            },
          }),
        ],
      });
      cleanup.rt = rt;
      const opened = await openInspector(browser(), rt.inspector!.url);
      cleanup.context = opened.context;
      const page = opened.page;
      const handle = await rt.engine.start({
        name: 'crawl',
        tasks: [{ id: 'crawl', agent: 'crawler' }],
      });
      await page.waitForSelector('g.task[data-task-id="crawl"][data-status="running"]');
      await page.locator('g.task[data-task-id="crawl"]').click();
      const lines = page.locator('[data-testid="progress-log"] li');
      await page.waitForFunction(
        () => document.querySelectorAll('[data-testid="progress-log"] li').length === 2,
      );
      expect(await lines.nth(0).textContent()).toMatch(
        /^\d\d:\d\d:\d\d\.\d{3} 50% — fetching pages$/,
      );
      expect(await lines.nth(1).textContent()).toMatch(/ 90% — parsing$/);
      work.resolve();
      expect((await handle.result).status).toBe('completed');
      expect(opened.problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );
});
