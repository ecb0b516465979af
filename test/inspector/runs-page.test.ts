/// <reference lib="dom" />
/**
 * Issue 17 item 5 in headless Chromium: a page opened after a run ended
 * shows that run (the newest stored one), its checkpoints with time, reason
 * and state and their real content; the stored runs list updates by itself
 * when another run starts and ends; with the token, Fork on a checkpoint
 * starts a new run from it (`engine.fork`) and the page opens that run;
 * Replay starts a new run from the stored run's starting input
 * (`engine.replay`) and opens it, and is disabled, with the reason, for a
 * record stored without that input.
 */
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, defineAgent, type Runtime } from '../../src/index.js';
import type { RunRecord } from '../../src/schemas/run-record.js';
import { workflowKey } from '../../src/store/keys.js';
import { scratchDir, useScratch } from '../durability/helpers.js';
import { openInspector, useChromium } from './browser.js';
import { deferred, TestClient, wsUrl } from './helpers.js';

const BROWSER_TEST_MS = 120_000;
const OUT = path.resolve('test-output/inspector');

useScratch();
const browser = useChromium(OUT);
const contexts: BrowserContext[] = [];
let rt: Runtime | undefined;

afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close();
  await rt?.close();
  rt = undefined;
});

const chain = {
  name: 'chain',
  tasks: [
    { id: 'a', agent: 'quick' },
    { id: 'b', agent: 'quick', dependsOn: ['a'] },
    { id: 'c', agent: 'quick', dependsOn: ['b'] },
  ],
};

describe('ISSUE-17 inspector runs: newest opens, live list, checkpoints, fork', () => {
  it(
    'opens the ended run, lists its checkpoints, updates the stored list live, and forks from a checkpoint into a run it opens',
    async () => {
      const gate = deferred();
      rt = await createRuntime({
        dataDir: await scratchDir('troupe-runs-page-'),
        checkpointInterval: 1,
        inspector: { port: 0, controls: true },
        agents: [
          defineAgent({ role: 'quick', run: async (task) => ({ done: task.id }) }),
          defineAgent({
            role: 'hold',
            run: async () => {
              await gate.promise;
              return 'released';
            },
          }),
        ],
      });
      await rt.engine.execute(chain, { workflowId: 'chain-1' });
      const history = await rt.engine.history('chain-1');
      const first = history.find((c) => c.state === 'running');
      expect(first).toBeDefined();

      const opened = await openInspector(browser(), rt.inspector!.url);
      contexts.push(opened.context);
      const { page, problems } = opened;
      // The run ended before the page opened: it is shown, not "No run".
      await page.waitForSelector('[data-testid="run-state"][data-run-status="completed"]');
      expect(await page.textContent('[data-testid="run-panel"] .run-meta')).toContain('chain-1');
      const rows = page.locator('[data-testid="checkpoints"] tbody tr');
      await expect.poll(() => rows.count()).toBe(history.length);
      const row = page.locator(`[data-testid="checkpoints"] tr[data-seq="${first!.seq}"]`);
      const cells = await row.locator('td').allTextContents();
      expect(cells.slice(0, 5)).toEqual([
        String(first!.seq),
        expect.stringMatching(/^\d\d:\d\d:\d\d\.\d{3}$/),
        first!.reason,
        'running',
        String(first!.completedTasks),
      ]);
      // A checkpoint's real content: the run's context as it was, folding JSON.
      await row.locator('button.checkpoint').click();
      await page.waitForSelector('[data-testid="run-panel"] .badge.readonly:text("checkpoint")');
      const content = await page.textContent('[data-testid="run-panel"] .raw');
      expect(content).toContain('chain-1');
      expect(content).toContain('runs');

      // Another run starts and ends: the stored list follows without Refresh.
      const held = await rt.engine.start(
        { name: 'held', tasks: [{ id: 'h', agent: 'hold' }] },
        { workflowId: 'held-1' },
      );
      await page.waitForSelector(
        '[data-testid="stored-runs"] button[data-workflow-id="held-1"] .badge.state-running',
      );
      gate.resolve();
      await held.result;
      await page.waitForSelector(
        '[data-testid="stored-runs"] button[data-workflow-id="held-1"] .badge.state-completed',
      );

      // Fork from the checkpoint: a new run from that state, opened by the page.
      await page.click('[data-testid="stored-runs"] button[data-workflow-id="chain-1"]');
      await page.click(`[data-testid="checkpoints"] button[data-fork="${first!.seq}"]`);
      await page.waitForFunction(() => {
        const meta = document.querySelector('[data-testid="run-panel"] .run-meta')?.textContent;
        return meta !== undefined && meta !== null && !meta.startsWith('chain-1');
      });
      await page.waitForSelector('[data-testid="run-state"][data-run-status="completed"]');
      await page.waitForSelector('g.task[data-task-id="c"][data-status="completed"]');
      const runs = await rt.engine.list();
      const fork = runs.find((r) => r.forkedFrom?.workflowId === 'chain-1');
      expect(fork?.forkedFrom?.checkpoint).toBe(first!.seq);
      expect(await page.textContent('[data-testid="run-panel"] .run-meta')).toContain(
        fork!.workflowId,
      );
      await page.screenshot({ path: path.join(OUT, 'runs-fork-1440x900.png') });
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );

  it(
    'Replay (with the token) starts a new run from the stored run’s starting input and opens it; an old record shows Replay disabled with the reason',
    async () => {
      rt = await createRuntime({
        dataDir: await scratchDir('troupe-replay-page-'),
        inspector: { port: 0, controls: true },
        agents: [
          defineAgent({
            role: 'greeter',
            run: async (task, ctx) => `${ctx.shared.greeting as string}, ${task.id}`,
          }),
        ],
      });
      const greet = {
        name: 'greet',
        tasks: [
          { id: 'ada', agent: 'greeter' },
          { id: 'bob', agent: 'greeter', dependsOn: ['ada'] },
        ],
      };
      const original = await rt.engine.execute(greet, {
        workflowId: 'greet-1',
        context: { greeting: 'hello' },
      });
      expect(original.tasks.bob?.output).toBe('hello, bob');

      const opened = await openInspector(browser(), rt.inspector!.url);
      contexts.push(opened.context);
      const { page, problems } = opened;
      await page.waitForSelector('[data-testid="run-state"][data-run-status="completed"]');
      expect(await page.textContent('[data-testid="run-panel"] .run-meta')).toContain('greet-1');
      const replay = page.locator('[data-testid="replay"]');
      expect(await replay.isEnabled()).toBe(true);
      await replay.click();
      // The page opens the new run, which ends with the same input's outputs.
      await page.waitForFunction(() => {
        const meta = document.querySelector('[data-testid="run-panel"] .run-meta')?.textContent;
        return typeof meta === 'string' && !meta.startsWith('greet-1');
      });
      await page.waitForSelector('[data-testid="run-state"][data-run-status="completed"]');
      await page.waitForSelector('g.task[data-task-id="bob"][data-status="completed"]');
      const replayed = (await rt.engine.list()).find((r) => r.replayOf === 'greet-1');
      expect(replayed).toBeDefined();
      expect(replayed!.input?.context).toEqual({ greeting: 'hello' });
      expect(replayed!.result?.tasks.bob?.output).toBe('hello, bob');
      expect(await page.textContent('[data-testid="run-panel"] .run-meta')).toContain(
        replayed!.workflowId,
      );

      // A record stored before runs kept their input: Replay is disabled and says why.
      const old = (await rt.store.get<RunRecord>('workflows', workflowKey('greet-1')))!;
      const { input: _dropped, ...withoutInput } = old;
      await rt.store.batch([
        { type: 'put', collection: 'workflows', key: workflowKey('greet-1'), value: withoutInput },
      ]);
      await page.click('[data-testid="stored-runs"] button[data-workflow-id="greet-1"]');
      await page.waitForSelector('[data-testid="replay"][disabled]');
      expect(await page.textContent('[data-testid="replay-note"]')).toContain(
        'stored before troupe kept a run’s starting input',
      );
      // No request of the page was refused on the way (the status bar shows no error).
      expect(await page.locator('[data-testid="status"] .error').count()).toBe(0);
      await page.screenshot({ path: path.join(OUT, 'runs-replay-1440x900.png') });

      // Over the socket: without the token Replay is refused, and nothing starts.
      const runsBefore = (await rt.engine.list()).length;
      const stranger = await TestClient.connect(wsUrl(rt.inspector!.url, { token: false }));
      stranger.send({ id: 7, type: 'replay', workflowId: replayed!.workflowId });
      const refused = await stranger.frame('reply', (f) => f.id === 7);
      expect(refused.error?.code).toBe('FORBIDDEN');
      stranger.close();
      expect((await rt.engine.list()).length).toBe(runsBefore);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );
});
