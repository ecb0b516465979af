/// <reference lib="dom" />
/**
 * Issue 17 item 3, audited in headless Chromium with odd inputs: the task
 * drawer of a run shows the same attempts, errors and compensation results
 * on a page of the process that ran it (watching it end) and on a page of a
 * later runtime that opens the stored run, for task ids that are names of
 * `Object.prototype` members, a task retried 30 times and errors of
 * 100,000 characters.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createRuntime,
  defineAgent,
  type RuntimeOptions,
  type WorkflowDefinitionInput,
  type WorkflowResult,
} from '../../src/index.js';
import { AttemptLog } from '../../src/runtime/inspector/attempt-log.js';
import type { EngineEvent } from '../../src/runtime/workflow/engine-events.js';
import { openInspector, pageTime, useChromium, usePageCleanup } from './browser.js';
import { deferred, until } from './helpers.js';

const BROWSER_TEST_MS = 180_000;

const browser = useChromium('test-output/inspector');
const cleanup = usePageCleanup();

const dataDirs: string[] = [];
afterAll(() => Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function newDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'troupe-details-audit-'));
  dataDirs.push(dir);
  return dir;
}

/** What the drawer shows of a task, in a form two pages can be compared by. */
interface DrawerShown {
  attempts: string;
  /** Each attempt row: number, outcome, error. */
  rows: string[][];
  /** The compensation's "returned" text, or null when the drawer shows none. */
  returned: string | null;
  error: string | null;
  output: string | null;
  /** The drawer's "started", then each attempt row's. */
  starts: string[];
  /** The note over the attempts, saying which are not kept. */
  note: string | null;
}

/** Opens a task's drawer from the DAG and reads it once its attempts are drawn. */
async function drawerOf(page: Page, taskId: string, attempts: number): Promise<DrawerShown> {
  await page.keyboard.press('Escape');
  await page.locator(`g.task[data-task-id="${taskId}"]`).click();
  const drawer = page.locator('[data-testid="task-drawer"]');
  await drawer.locator(`#drawer-title:has-text("${taskId}")`).waitFor();
  await drawer.locator(`[data-testid="attempts"] tr[data-attempt="${attempts}"]`).waitFor();
  return drawer.evaluate((element) => ({
    attempts: element.querySelector('dt:nth-of-type(2) + dd')?.textContent ?? '',
    rows: Array.from(element.querySelectorAll('[data-testid="attempts"] tbody tr')).map((row) => {
      const cells = row.querySelectorAll('td');
      return [cells[0]!.textContent!, cells[1]!.textContent!, cells[5]!.textContent!];
    }),
    returned:
      Array.from(element.querySelectorAll('dt')).find((dt) => dt.textContent === 'returned')
        ?.nextElementSibling?.textContent ?? null,
    error: element.querySelector('[data-testid="task-error"]')?.textContent ?? null,
    output: element.querySelector('[data-testid="task-output"]')?.textContent ?? null,
    starts: [
      Array.from(element.querySelectorAll('dt')).find((dt) => dt.textContent === 'started')
        ?.nextElementSibling?.textContent ?? '',
      ...Array.from(element.querySelectorAll('[data-testid="attempts"] tbody tr')).map(
        (row) => row.querySelectorAll('td')[3]!.textContent!,
      ),
    ],
    note:
      element.querySelector('[data-testid="attempts"]')?.previousElementSibling?.closest('p')
        ?.textContent ?? null,
  }));
}

/**
 * Runs `definition` on a durable runtime with a page open, reads the drawer
 * of each task in `tasks` once the run has ended, then reads them again on a
 * page of a later runtime over the same store.
 */
async function bothPages(
  options: Pick<RuntimeOptions, 'agents'>,
  run: (rt: Awaited<ReturnType<typeof createRuntime>>) => Promise<WorkflowResult>,
  /** Task ids with the number of attempts each shows. */
  tasks: readonly (readonly [string, number])[],
): Promise<{ result: WorkflowResult; live: DrawerShown[]; later: DrawerShown[]; page: Page }> {
  const dataDir = await newDataDir();
  const first = await createRuntime({ dataDir, durable: true, inspector: { port: 0 }, ...options });
  cleanup.rt = first;
  const one = await openInspector(browser(), first.inspector!.url);
  cleanup.context = one.context;
  const result = await run(first);
  const live: DrawerShown[] = [];
  for (const [id, attempts] of tasks) live.push(await drawerOf(one.page, id, attempts));
  expect(one.problems).toEqual([]);
  await one.context.close();
  await first.close();

  const later = await createRuntime({ dataDir, durable: true, inspector: { port: 0 } });
  cleanup.rt = later;
  const two = await openInspector(browser(), later.inspector!.url);
  cleanup.context = two.context;
  const shown: DrawerShown[] = [];
  for (const [id, attempts] of tasks) shown.push(await drawerOf(two.page, id, attempts));
  expect(two.problems).toEqual([]);
  return { result, live, later: shown, page: two.page };
}

/**
 * A saga of task `id` (its agent returns `output`) then a payment that
 * fails, so `id` is compensated by a handler given under its task id that
 * returns `returned`; the drawer of `id` on both pages.
 */
function sagaOnBothPages(id: string, output: () => unknown, returned: () => unknown) {
  return bothPages(
    {
      agents: [
        defineAgent({ role: 'first', run: output }),
        defineAgent({
          role: 'broken',
          run: () => {
            throw new Error('declined');
          },
        }),
      ],
    },
    (rt) =>
      rt.engine.executeWithSagaPattern(
        {
          name: 'saga',
          tasks: [
            { id, agent: 'first' },
            { id: 'charge', agent: 'broken', dependsOn: [id] },
          ],
        },
        Object.fromEntries([[id, async () => returned()]]),
        { workflowId: 'saga' },
      ),
    [[id, 1]],
  );
}

describe('ISSUE-17 item 3 task details with odd inputs', () => {
  it(
    'tasks named constructor and toString whose compensations returned nothing show no "returned"; one that returned shows it',
    async () => {
      const definition: WorkflowDefinitionInput = {
        name: 'odd-ids',
        tasks: [
          { id: 'constructor', agent: 'ok', compensation: 'undoNothing' },
          { id: 'toString', agent: 'ok', compensation: 'undoNothing' },
          { id: '__proto__', agent: 'ok', compensation: 'undoRefund' },
          { id: 'charge', agent: 'broken', dependsOn: ['constructor', 'toString', '__proto__'] },
        ],
      };
      const { result, live, later } = await bothPages(
        {
          agents: [
            defineAgent({ role: 'ok', run: () => 'done' }),
            defineAgent({
              role: 'broken',
              run: () => {
                throw new Error('card declined');
              },
            }),
          ],
        },
        (rt) =>
          rt.engine.executeWithSagaPattern(
            definition,
            {
              undoNothing: async () => undefined,
              undoRefund: async () => ({ refund: 're_1' }),
            },
            { workflowId: 'odd-ids' },
          ),
        [
          ['constructor', 1],
          ['toString', 1],
          ['__proto__', 1],
        ],
      );
      expect(result.status).toBe('compensated');
      expect(live.map((shown) => shown.returned)).toEqual([
        null,
        null,
        expect.stringContaining('re_1'),
      ]);
      expect(later).toEqual(live);
    },
    BROWSER_TEST_MS,
  );

  it(
    'a stored run interrupted before its end, opened by a later runtime: tasks named toString and constructor show as the others do',
    async () => {
      const dataDir = await newDataDir();
      const first = await createRuntime({
        dataDir,
        durable: true,
        agents: [
          defineAgent({ role: 'ok', run: () => 'done' }),
          defineAgent({
            role: 'hold',
            run: (_task, ctx) =>
              new Promise((_resolve, reject) =>
                ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
              ),
          }),
        ],
      });
      cleanup.rt = first;
      const started = new Promise<void>((resolve) => {
        first.engine.on('task.started', (event) => {
          if (event.taskId === 'hold') resolve();
        });
      });
      await first.engine.start(
        {
          name: 'interrupted',
          tasks: [
            { id: 'toString', agent: 'ok' },
            { id: 'constructor', agent: 'ok' },
            { id: 'hold', agent: 'hold', dependsOn: ['toString', 'constructor'] },
            { id: 'valueOf', agent: 'ok', dependsOn: ['hold'] },
          ],
        },
        { workflowId: 'interrupted' },
      );
      await started;
      await first.close();

      const later = await createRuntime({ dataDir, durable: true, inspector: { port: 0 } });
      cleanup.rt = later;
      const opened = await openInspector(browser(), later.inspector!.url);
      cleanup.context = opened.context;
      const page = opened.page;
      await page.locator('g.task[data-task-id="hold"]').waitFor();
      const statuses = await page.evaluate(() =>
        Array.from(document.querySelectorAll('g.task[data-task-id]')).map(
          (node) => `${node.getAttribute('data-task-id')}:${node.getAttribute('data-status')}`,
        ),
      );
      // What the tasks reached, rebuilt from the run's checkpoint and journal.
      expect(statuses.sort()).toEqual([
        'constructor:completed',
        'hold:running',
        'toString:completed',
        'valueOf:pending',
      ]);
      await page.locator('g.task[data-task-id="toString"]').click();
      const drawer = page.locator('[data-testid="task-drawer"]');
      await drawer.locator('#drawer-title:has-text("toString")').waitFor();
      expect(
        await drawer.locator('[data-testid="drawer-status"]').getAttribute('data-status'),
      ).toBe('completed');
      expect(await drawer.locator('[data-testid="task-output"]').textContent()).toContain('done');
      expect(opened.problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );

  it(
    'a task retried 30 times lists the same attempts on both pages, saying which are not kept',
    async () => {
      const { result, live, later } = await bothPages(
        {
          agents: [
            defineAgent({
              role: 'stubborn',
              run: (_task, ctx) => {
                if (ctx.attempt < 30) throw new Error(`busy ${ctx.attempt}`);
                return 'finally';
              },
            }),
          ],
        },
        (rt) =>
          rt.engine.execute(
            {
              name: 'thirty',
              tasks: [
                {
                  id: 'stubborn',
                  agent: 'stubborn',
                  retry: { maxAttempts: 30, initialDelayMs: 1, maxDelayMs: 1, jitter: 0 },
                },
              ],
            },
            { workflowId: 'thirty' },
          ),
        [['stubborn', 30]],
      );
      expect(result.tasks.stubborn!.attempts).toBe(30);
      const kept = result.tasks.stubborn!.failedAttempts!.map((a) => a.attempt);
      expect(kept).toEqual(Array.from({ length: 20 }, (_, i) => i + 10));
      expect(later).toEqual(live);
      expect(live[0]!.rows.map(([attempt]) => Number(attempt))).toEqual([...kept, 30]);
      expect(live[0]!.rows.at(-1)).toEqual(['30', 'completed', '']);
      expect(live[0]!.rows[0]).toEqual(['10', 'failed', 'busy 10']);
      expect(live[0]!.note).toMatch(/^Attempts before #10 are not kept/);
    },
    BROWSER_TEST_MS,
  );

  it(
    'errors of 100,000 characters: every attempt shows the same clipped message on both pages',
    async () => {
      const { result, live, later, page } = await bothPages(
        {
          agents: [
            defineAgent({
              role: 'verbose',
              run: (_task, ctx) => {
                throw new Error(`attempt ${ctx.attempt}: ${'x'.repeat(100_000)}`);
              },
            }),
          ],
        },
        (rt) =>
          rt.engine.execute(
            {
              name: 'verbose',
              tasks: [
                {
                  id: 'verbose',
                  agent: 'verbose',
                  retry: { maxAttempts: 2, initialDelayMs: 1, jitter: 0 },
                },
              ],
            },
            { workflowId: 'verbose' },
          ),
        [['verbose', 2]],
      );
      expect(result.status).toBe('failed');
      expect(result.tasks.verbose!.error!.message).toHaveLength(100_011);
      expect(later).toEqual(live);
      const errors = live[0]!.rows.map(([, , error]) => error!);
      expect(errors.map((error) => error.length)).toEqual([2_001, 2_001]);
      expect(errors.map((error) => error.slice(0, 10))).toEqual(['attempt 1:', 'attempt 2:']);
      expect(errors.every((error) => error.endsWith('x…'))).toBe(true);
      // On a phone the long errors wrap inside the drawer: it does not scroll sideways.
      await page.setViewportSize({ width: 390, height: 844 });
      const drawer = page.locator('[data-testid="task-drawer"]');
      await page.waitForFunction(
        () => document.querySelector('[data-testid="task-drawer"]')!.clientWidth <= 390,
      );
      await page.screenshot({ path: 'test-output/inspector/drawer-long-errors-390x844.png' });
      expect(
        await drawer.evaluate((element) => {
          const right = element.getBoundingClientRect().right;
          const body = element.querySelector('.drawer-body')!;
          return [
            body.scrollWidth <= body.clientWidth,
            Array.from(element.querySelectorAll('td.error')).every(
              (cell) => cell.getBoundingClientRect().right <= right,
            ),
          ];
        }),
      ).toEqual([true, true]);
    },
    BROWSER_TEST_MS,
  );

  it(
    'attempts a cancel aborted keep their start on both pages: a third attempt after two failures, and a first attempt',
    async () => {
      const running = new Set<string>();
      const { result, live, later } = await bothPages(
        {
          agents: ['worker', 'sleeper'].map((role) =>
            defineAgent({
              role,
              run: (task, ctx) => {
                if (task.id === 'flaky' && ctx.attempt < 3)
                  throw new Error(`attempt ${ctx.attempt} failed`);
                running.add(task.id);
                return new Promise((_resolve, reject) =>
                  ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
                );
              },
            }),
          ),
        },
        async (rt) => {
          const handle = await rt.engine.start(
            {
              name: 'cancelled',
              tasks: [
                {
                  id: 'flaky',
                  agent: 'worker',
                  retry: { maxAttempts: 5, initialDelayMs: 1, jitter: 0 },
                },
                { id: 'slow', agent: 'sleeper' },
              ],
            },
            { workflowId: 'cancelled' },
          );
          await until(() => running.size === 2, 'both tasks running');
          await rt.engine.cancel('cancelled', { reason: 'operator stop' });
          return handle.result;
        },
        [
          ['flaky', 3],
          ['slow', 1],
        ],
      );
      expect(result.status).toBe('cancelled');
      expect(later).toEqual(live);
      const [flaky, slow] = later;
      expect(flaky!.rows.map(([attempt, outcome]) => `${attempt}:${outcome}`)).toEqual([
        '1:failed',
        '2:failed',
        '3:cancelled',
      ]);
      expect(flaky!.starts.every((start) => /^\d\d:\d\d:\d\d\.\d{3}$/.test(start))).toBe(true);
      expect(slow!.starts).toHaveLength(2);
      expect(slow!.starts.every((start) => /^\d\d:\d\d:\d\d\.\d{3}$/.test(start))).toBe(true);
      expect(result.tasks.flaky!.lastAttemptStartedAt).toBeGreaterThanOrEqual(
        result.tasks.flaky!.failedAttempts![1]!.endedAt,
      );
      expect(result.tasks.slow!.startedAt).toBeLessThanOrEqual(result.tasks.slow!.finishedAt!);
    },
    BROWSER_TEST_MS,
  );

  it(
    'a progress message a retry reports again is a line of its own, marked with its attempt',
    async () => {
      const work = deferred();
      const reported: { attempt: number; at: number }[] = [];
      const rt = await createRuntime({
        dataDir: false,
        inspector: { port: 0 },
        agents: [
          defineAgent({
            role: 'fetcher',
            run: async (_task, ctx) => {
              ctx.progress(ctx.attempt === 1 ? 0.3 : 0.1, 'fetching pages');
              if (ctx.attempt === 1) throw new Error('connection reset');
              await work.promise;
              return 'fetched';
            },
          }),
        ],
      });
      cleanup.rt = rt;
      rt.engine.on('task.progress', (event) => {
        reported.push({ attempt: event.attempt, at: event.at });
      });
      const opened = await openInspector(browser(), rt.inspector!.url);
      cleanup.context = opened.context;
      const page = opened.page;
      const handle = await rt.engine.start({
        name: 'fetch',
        tasks: [
          {
            id: 'fetch',
            agent: 'fetcher',
            retry: { maxAttempts: 2, initialDelayMs: 1, jitter: 0 },
          },
        ],
      });
      await page.waitForSelector('g.task[data-task-id="fetch"][data-status="running"]');
      await until(() => reported.length === 2, 'both attempts reported');
      await page.locator('g.task[data-task-id="fetch"]').click();
      await page.locator('[data-testid="attempts"] tr[data-attempt="2"]').waitFor();
      const lines = page.locator('[data-testid="progress-log"] li');
      await page.waitForFunction(
        () => document.querySelectorAll('[data-testid="progress-log"] li').length === 2,
      );
      expect(await lines.allTextContents()).toEqual([
        `${await pageTime(page, reported[0]!.at)} 30% — fetching pages`,
        `#2 ${await pageTime(page, reported[1]!.at)} 10% — fetching pages`,
      ]);
      work.resolve();
      expect((await handle.result).status).toBe('completed');
      expect(opened.problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );

  it(
    'an output and a compensation result with a "__proto__" key show that key, as the stored result has it',
    async () => {
      const odd = () => JSON.parse('{"__proto__": {"refundId": "re_9"}, "ok": true}') as unknown;
      const { result, live, later } = await sagaOnBothPages('reserve', odd, odd);
      expect(Object.keys(result.tasks.reserve!.output as object)).toEqual(['__proto__', 'ok']);
      expect(later).toEqual(live);
      expect(live[0]!.returned).toContain('__proto__');
      expect(live[0]!.returned).toContain('re_9');
      expect(live[0]!.output).toContain('__proto__');
      expect(live[0]!.output).toContain('re_9');
    },
    BROWSER_TEST_MS,
  );

  it(
    'a saga task named constructor takes its compensation handler by task id, and the drawer shows what it returned',
    async () => {
      const { result, live, later } = await sagaOnBothPages(
        'constructor',
        () => 'built',
        () => ({ demolished: true }),
      );
      expect(result.status).toBe('compensated');
      expect(later).toEqual(live);
      expect(live[0]!.returned).toContain('demolished');
    },
    BROWSER_TEST_MS,
  );

  it('the hub logs no more attempts of a task than the drawer shows (the kept 20 failed and the last)', () => {
    const log = new AttemptLog();
    for (let attempt = 1; attempt <= 30; attempt++) {
      const at = attempt * 10;
      log.listener({ type: 'task.started', workflowId: 'w', taskId: 't', attempt, at });
      log.listener({
        type: 'task.retrying',
        workflowId: 'w',
        taskId: 't',
        attempt,
        at: at + 1,
        retryAt: at + 5,
        error: { name: 'Error', message: `busy ${attempt}` },
      } as EngineEvent);
    }
    const kept = log.attempts('w', 't')!.map((a) => a.attempt);
    expect(kept).toEqual(Array.from({ length: 21 }, (_, i) => i + 10));
  });
});
