/**
 * The inspector page in real headless Chromium (Debian's `chromium`, driven
 * by playwright-core; never a downloaded browser). Tasks are held by
 * deferreds the test releases, and every wait is on an explicit condition
 * in the page.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, defineAgent, type Runtime } from '../../src/index.js';
import { openInspector, useChromium } from './browser.js';
import { heldRuntime } from './helpers.js';

/** A real browser on a busy 2-core machine: generous, since every wait is on a condition anyway. */
const BROWSER_TEST_MS = 120_000;
const OUT = path.resolve('test-output');
const XSS_NAME = '<img src=x onerror="window.__xss=1">Report <i>run</i>';
const XSS_TEXT = '<script>window.__xss=2</script><b>bold</b>';

const browser = useChromium(OUT);
let context: BrowserContext | undefined;
let rt: Runtime | undefined;
let problems: string[] = [];

afterEach(async () => {
  await context?.close();
  context = undefined;
  await rt?.close();
  rt = undefined;
});

async function open(url: string): Promise<Page> {
  const opened = await openInspector(browser(), url);
  context = opened.context;
  problems = opened.problems;
  return opened.page;
}

describe('inspector page', () => {
  it(
    'shows a run live: DAG, a task going from running to completed, pause, escaped text',
    async () => {
      const held = await heldRuntime({ port: 0, controls: true });
      rt = held.rt;
      const page = await open(rt.inspector!.url);
      // The token has been taken out of the address bar (it stays in this tab's session).
      expect(page.url()).not.toContain('token=');

      const handle = await rt.engine.start(
        {
          name: XSS_NAME,
          tasks: [
            { id: 'fetch', agent: 'hold', description: XSS_TEXT, input: { note: XSS_TEXT } },
            { id: 'analyse', agent: 'hold', dependsOn: ['fetch'] },
            { id: 'summarise', agent: 'quick', dependsOn: ['fetch'] },
            { id: 'report', agent: 'hold', dependsOn: ['analyse', 'summarise'] },
          ],
        },
        { workflowId: 'page-run' },
      );

      // The DAG appears, with the first task running.
      await page.waitForSelector(
        '[data-testid="dag"] g.task[data-task-id="fetch"][data-status="running"]',
      );
      expect(await page.locator('[data-testid="dag"] g.task').count()).toBe(4);
      await page.waitForSelector('[data-testid="run-state"][data-run-status="running"]');

      // It goes from running to completed live, and the next tasks start.
      held.release('fetch');
      await page.waitForSelector('g.task[data-task-id="fetch"][data-status="completed"]');
      await page.waitForSelector('g.task[data-task-id="summarise"][data-status="completed"]');
      await page.waitForSelector('g.task[data-task-id="analyse"][data-status="running"]');

      // The workflow actor is selected: its statechart is drawn with `running` active.
      await page.waitForSelector('[data-testid="statechart"] g.state.active[data-path="running"]');

      // Pause: the run shows paused, in the page and in the runtime.
      await page.click('[data-testid="controls"] button[data-action="pause"]');
      await page.waitForSelector('[data-testid="run-state"][data-run-status="paused"]');
      await page.waitForSelector('[data-testid="statechart"] g.state.active[data-path="paused"]');
      expect((await rt.engine.getState('page-run'))?.status).toBe('paused');

      // Text from tasks is shown as text: no markup, no script ran.
      expect(await page.textContent('[data-testid="run-name"]')).toBe(XSS_NAME);
      await page.click('[data-task-row="fetch"]');
      await page.waitForSelector('[data-testid="task-drawer"] [data-testid="idempotency-key"]');
      const output = await page.textContent('[data-testid="task-output"]');
      expect(output).toContain('done');
      const drawer = await page.textContent('[data-testid="task-drawer"]');
      expect(drawer).toContain(XSS_TEXT);
      expect(drawer).toContain('page-run:fetch');
      expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
      expect(
        await page
          .locator('img[src="x"], [data-testid="task-drawer"] b, [data-testid="run-panel"] i')
          .count(),
      ).toBe(0);
      await page.keyboard.press('Escape');
      await page.waitForSelector('[data-testid="task-drawer"]', { state: 'hidden' });

      // The timeline filters by event type.
      await page.fill('[data-testid="timeline-type"]', 'task.assign');
      // The list redraws at most once per frame interval: wait until the filter is applied.
      await page.waitForFunction(() => {
        const rows = Array.from(
          document.querySelectorAll('[data-testid="timeline"] .row[data-event-type]'),
        );
        return (
          rows.length > 0 && rows.every((r) => r.getAttribute('data-event-type') === 'task.assign')
        );
      });
      const types = await page.$$eval('[data-testid="timeline"] .row[data-event-type]', (rows) =>
        rows.map((r) => r.getAttribute('data-event-type')),
      );
      expect(types.length).toBeGreaterThan(0);
      expect(new Set(types)).toEqual(new Set(['task.assign']));

      await page.screenshot({ path: path.join(OUT, 'inspector.png') });

      // Resume and finish; the stored run then opens read-only.
      await page.click('[data-testid="controls"] button[data-action="resume"]');
      await page.waitForSelector('[data-testid="run-state"][data-run-status="running"]');
      held.release('analyse');
      held.release('report');
      expect((await handle.result).status).toBe('completed');
      await page.waitForSelector('g.task[data-task-id="report"][data-status="completed"]');
      await page.click('[data-testid="refresh-stored"]');
      await page.click('[data-testid="stored-runs"] button[data-workflow-id="page-run"]');
      await page.waitForSelector('[data-testid="run-panel"] .badge.readonly');
      await page.waitForSelector('[data-testid="run-state"][data-run-status="completed"]');
      expect(await page.locator('[data-testid="controls"]').count()).toBe(0);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );

  it(
    'stays responsive with a 10,000-task run and shows no controls without them',
    async () => {
      const held = await heldRuntime({ port: 0 });
      rt = held.rt;
      rt.registerAgent(
        defineAgent({
          role: 'tick',
          concurrency: 100,
          // Settles in a microtask: the whole run's changes reach the page in
          // one burst after the gate opens, the heaviest batch it can get.
          run: async () => 'ok',
        }),
      );
      const page = await open(rt.inspector!.url);
      const tasks = Array.from({ length: 10_000 }, (_, i) => ({ id: `t${i}`, agent: 'tick' }));
      const handle = await rt.engine.start(
        {
          name: 'big',
          tasks: [
            { id: 'gate', agent: 'hold' },
            ...tasks.map((t) => ({ ...t, dependsOn: ['gate'] })),
          ],
          maxConcurrency: 100,
        },
        { workflowId: 'big-run' },
      );
      // The 10,000-way fan-out is one group node of the graph.
      await page.waitForSelector('[data-testid="dag"] g.task.group[data-group="t0..t9999"]');
      held.release('gate');
      expect((await handle.result).status).toBe('completed');
      await page.waitForSelector('[data-testid="run-state"][data-run-status="completed"]');
      await page.waitForSelector('[data-count="completed"]:text("completed 10001")');
      // Its statechart waited while the run streamed, and is drawn once it ended.
      await page.waitForSelector('[data-testid="statechart"] g.state.root');
      // Virtualised: only the visible rows exist, whatever the run's size.
      expect(await page.locator('.task-table .row').count()).toBeLessThan(100);
      expect(await page.locator('[data-testid="timeline"] .row').count()).toBeLessThan(100);
      const started = Date.now();
      await page.evaluate(
        () =>
          new Promise((resolve) =>
            (
              globalThis as unknown as { requestAnimationFrame: (cb: () => void) => void }
            ).requestAnimationFrame(() => resolve(null)),
          ),
      );
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(await page.locator('[data-testid="controls"]').count()).toBe(0);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );

  it(
    'opens a stored run and one of its checkpoints read-only',
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'troupe-page-'));
      try {
        rt = await createRuntime({
          dataDir: dir,
          checkpointInterval: 1,
          inspector: { port: 0 },
          agents: [defineAgent({ role: 'quick', run: async (task) => ({ done: task.id }) })],
        });
        await rt.engine.execute(
          {
            name: 'kept',
            tasks: [
              { id: 'a', agent: 'quick' },
              { id: 'b', agent: 'quick', dependsOn: ['a'] },
            ],
          },
          { workflowId: 'kept-run' },
        );
        const page = await open(rt.inspector!.url);
        await page.click('[data-testid="stored-runs"] button[data-workflow-id="kept-run"]');
        await page.waitForSelector('[data-testid="run-panel"] .badge.readonly');
        await page.waitForSelector('g.task[data-task-id="b"][data-status="completed"]');
        await page.click('.checkpoints button.checkpoint');
        await page.waitForSelector('[data-testid="run-panel"] .badge.readonly:text("checkpoint")');
        await page.waitForSelector('[data-testid="dag"] g.task[data-task-id="a"]');
        expect(await page.textContent('[data-testid="run-panel"] .json')).toContain('kept-run');
        expect(problems).toEqual([]);
      } finally {
        await context?.close();
        context = undefined;
        await rt?.close();
        rt = undefined;
        await rm(dir, { recursive: true, force: true });
      }
    },
    BROWSER_TEST_MS,
  );
});
