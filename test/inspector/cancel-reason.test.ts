/// <reference lib="dom" />
/**
 * Issue 17 items 1 and 3, in headless Chromium: a cancelled task's drawer
 * says why it was cancelled, in the words of the engine's `task.cancelled`
 * event, on the page that watched the run, on a page opened after the end
 * (the stored result) and after a reload. Three ways to end cancelled: a
 * cancel aborted the task's attempt; the task never started, or was waiting
 * out a retry's backoff (it keeps that attempt's error, which is not why it
 * was cancelled), when the run was cancelled with a reason; the run failed
 * and the task never started.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { createRuntime, defineAgent } from '../../src/index.js';
import { scratchDir, useScratch } from '../durability/helpers.js';
import { openInspector, useChromium, usePageCleanup } from './browser.js';
import { deferred } from './helpers.js';

const BROWSER_TEST_MS = 150_000;

useScratch();
const browser = useChromium('test-output/inspector');
const cleanup = usePageCleanup();

async function runtime() {
  const never = deferred();
  const failNow = deferred();
  const rt = await createRuntime({
    dataDir: await scratchDir('troupe-cancel-reason-'),
    inspector: { port: 0 },
    agents: [
      // Ignores its abort signal: the cancel alone ends its attempt.
      defineAgent({ role: 'hold', run: () => never.promise.then(() => 'never') }),
      defineAgent({ role: 'quick', run: async (task) => ({ done: task.id }) }),
      defineAgent({
        role: 'flaky',
        run: () => {
          throw new Error('rate limited: try again');
        },
      }),
      // Fails once the test lets it, so a page watches the run live first.
      defineAgent({
        role: 'declined',
        run: async () => {
          await failNow.promise;
          throw new Error('card declined');
        },
      }),
    ],
  });
  cleanup.rt = rt;
  const reasons = new Map<string, string>();
  rt.engine.on('task.cancelled', (event) => {
    reasons.set(event.taskId, event.reason);
  });
  return { rt, reasons, failNow: () => failNow.resolve() };
}

/** Opens a task's drawer from the task table and returns the reason it shows ('' when none). */
async function shownReason(page: Page, taskId: string): Promise<string> {
  await page.click(`[data-task-row="${taskId}"]`);
  const drawer = page.locator('[data-testid="task-drawer"]');
  await drawer.locator('.drawer-id', { hasText: taskId }).waitFor();
  await drawer.locator('[data-testid="drawer-status"][data-status="cancelled"]').waitFor();
  // The drawer is drawn from what the page has; wait for the details to come too.
  await drawer.locator('[data-testid="idempotency-key"]').waitFor();
  const reason = drawer.locator('[data-testid="cancel-reason"]');
  return (await reason.count()) ? ((await reason.textContent()) ?? '') : '';
}

/** Every cancelled task's reason as the page shows it, in its drawer and in the task table. */
async function shownReasons(page: Page, taskIds: readonly string[]) {
  const shown = new Map<string, string>();
  for (const id of taskIds) {
    const reason = await shownReason(page, id);
    expect(await page.textContent(`[data-task-row="${id}"] .c-output`)).toBe(reason);
    shown.set(id, reason);
  }
  await page.keyboard.press('Escape');
  return shown;
}

describe('ISSUE-17 item 1 the reason a task was cancelled', () => {
  it(
    'a run cancelled with a reason: the aborted task, the one never started and the one in backoff say why, on every page',
    async () => {
      const { rt, reasons } = await runtime();
      const live = await openInspector(browser(), rt.inspector!.url);
      cleanup.context = live.context;
      const handle = await rt.engine.start(
        {
          name: 'order',
          tasks: [
            { id: 'reserve', agent: 'hold' },
            { id: 'ship', agent: 'quick', dependsOn: ['reserve'] },
            { id: 'quote', agent: 'flaky', retry: { maxAttempts: 3, initialDelayMs: 600_000 } },
          ],
        },
        { workflowId: 'order-1' },
      );
      await live.page.waitForSelector('g.task[data-task-id="quote"][data-status="retrying"]');
      await live.page.waitForSelector('g.task[data-task-id="reserve"][data-status="running"]');
      await rt.engine.cancel('order-1', { reason: 'the customer withdrew the order' });
      const result = await handle.result;
      expect(result.status).toBe('cancelled');
      const ids = ['reserve', 'ship', 'quote'] as const;
      expect(Object.fromEntries(reasons)).toEqual({
        reserve: 'Task "reserve" was aborted: the customer withdrew the order',
        ship: 'the customer withdrew the order',
        quote: 'the customer withdrew the order',
      });
      // The task in backoff still carries its attempt's error: not the reason.
      expect(result.tasks.quote?.error?.message).toBe('rate limited: try again');
      await live.page.waitForSelector('[data-testid="run-state"][data-run-status="cancelled"]');
      expect(await shownReasons(live.page, ids)).toEqual(reasons);

      // Opened after the end: the stored result.
      const late = await live.context.newPage();
      await late.goto(rt.inspector!.url);
      await late.waitForSelector('[data-testid="run-state"][data-run-status="cancelled"]');
      await late.waitForSelector('.badge.readonly');
      expect(await shownReasons(late, ids)).toEqual(reasons);
      await late.reload();
      await late.waitForSelector('[data-testid="run-state"][data-run-status="cancelled"]');
      expect(await shownReasons(late, ids)).toEqual(reasons);
      expect(live.problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );

  it(
    'a run that failed: the task that never started names the failure, live and stored alike',
    async () => {
      const { rt, reasons, failNow } = await runtime();
      const live = await openInspector(browser(), rt.inspector!.url);
      cleanup.context = live.context;
      const handle = await rt.engine.start(
        {
          name: 'payment',
          tasks: [
            { id: 'pay', agent: 'declined', retry: { maxAttempts: 1 } },
            { id: 'ship', agent: 'quick', dependsOn: ['pay'] },
            { id: 'invoice', agent: 'quick', dependsOn: ['ship'] },
          ],
        },
        { workflowId: 'payment-1' },
      );
      await live.page.waitForSelector('g.task[data-task-id="pay"][data-status="running"]');
      failNow();
      const result = await handle.result;
      expect(result.status).toBe('failed');
      expect(Object.fromEntries(reasons)).toEqual({
        ship: 'the run stopped: task "pay" failed',
        invoice: 'the run stopped: task "pay" failed',
      });
      await live.page.waitForSelector('[data-testid="run-state"][data-run-status="failed"]');
      await live.page.waitForSelector('g.task[data-task-id="invoice"][data-status="cancelled"]');
      expect(await shownReasons(live.page, ['ship', 'invoice'])).toEqual(reasons);

      const late = await live.context.newPage();
      await late.goto(rt.inspector!.url);
      await late.waitForSelector('.badge.readonly');
      expect(await shownReasons(late, ['ship', 'invoice'])).toEqual(reasons);
      expect(live.problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );
});
