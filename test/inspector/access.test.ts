/// <reference lib="dom" />
/**
 * Issue 17 items 5, 7 and 8 in headless Chromium, used as a person would:
 * only the keyboard (Tab to reach each action, Enter or Space to use it,
 * Escape to close) while a busy run redraws the page; text contrast
 * computed from the page's own colours; every view (live run, drawer,
 * stored run, checkpoint, waits form, statechart enlarged) at 1440x900,
 * 1024x768 and 390x844 with a screenshot and axe-core; a page opened after
 * a run ended following the next run; fork refused without the token.
 */
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, defineAgent, type Runtime } from '../../src/index.js';
import { scratchDir, useScratch } from '../durability/helpers.js';
import { openInspector, SCREEN_SIZES, seriousAxeViolations, useChromium } from './browser.js';
import { deferred, TestClient, wsUrl } from './helpers.js';

const BROWSER_TEST_MS = 240_000;
/** Eighteen views with a screenshot and an axe run each: minutes on a loaded CI machine. */
const ALL_VIEWS_TEST_MS = 480_000;
const OUT = path.resolve('test-output/inspector');

useScratch();
const browser = useChromium(OUT);
let stopTicking: (() => void) | undefined;
const clients: TestClient[] = [];
const contexts: BrowserContext[] = [];
let rt: Runtime | undefined;

afterEach(async () => {
  stopTicking?.();
  for (const context of contexts.splice(0)) await context.close();
  for (const client of clients.splice(0)) client.close();
  await rt?.close();
  rt = undefined;
});

/**
 * A stored three-task chain with a checkpoint after each task, then a live
 * run that keeps the page busy: `tick` reports progress until the test
 * ends, `ask` waits for an approval, `region` for an answer from a list.
 */
async function busyRuntime({ startBusy = true } = {}) {
  let ticking = true;
  const ticked = deferred();
  stopTicking = () => {
    ticking = false;
    ticked.resolve();
  };
  rt = await createRuntime({
    dataDir: await scratchDir('troupe-access-'),
    checkpointInterval: 1,
    inspector: { port: 0, controls: true },
    agents: [
      defineAgent({ role: 'quick', run: async (task) => ({ done: task.id }) }),
      defineAgent({
        role: 'failer',
        run: () => {
          throw new Error('payment declined');
        },
      }),
      defineAgent({
        role: 'ticker',
        run: async (_task, ctx) => {
          for (let i = 1; ticking; i++) {
            ctx.progress((i % 100) / 100, `tick ${i}`);
            await Promise.race([ticked.promise, new Promise((r) => setTimeout(r, 30))]);
          }
          return 'stopped';
        },
      }),
    ],
  });
  await rt.engine.execute(
    {
      name: 'chain',
      tasks: [
        { id: 'a', agent: 'quick' },
        { id: 'b', agent: 'quick', dependsOn: ['a'] },
        { id: 'c', agent: 'quick', dependsOn: ['b'] },
      ],
    },
    { workflowId: 'chain-1' },
  );
  const start = () =>
    rt!.engine.start(
      {
        name: 'busy',
        tasks: [
          { id: 'ask', kind: 'approval', wait: { prompt: 'Ship it?' } },
          {
            id: 'region',
            kind: 'input',
            wait: { prompt: 'Which region?', schema: { type: 'string', enum: ['eu', 'us'] } },
          },
          { id: 'tick', agent: 'ticker' },
          { id: 'ship', agent: 'quick', dependsOn: ['ask', 'region', 'tick'] },
        ],
      },
      { workflowId: 'busy-1' },
    );
  return { rt, start, busy: startBusy ? await start() : undefined };
}

async function open(url: string, size: readonly [number, number] = [1440, 900]) {
  const opened = await openInspector(browser(), url, {
    width: size[0],
    height: size[1],
    bypassCSP: true,
  });
  contexts.push(opened.context);
  return opened;
}

/** Presses Tab (or Shift+Tab) until the focus is on `selector`: it is reachable by keyboard. */
async function tabTo(page: Page, selector: string, most = 150, key = 'Tab'): Promise<void> {
  for (let i = 0; i < most; i++) {
    await page.keyboard.press(key);
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
  }
  throw new Error(`${selector} not reached in ${most} presses of Tab`);
}

function focusedMatches(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector);
}

/** Waits until the busy run's progress has been redrawn twice (the header and lists with it). */
async function twoRedraws(page: Page): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const shown = await page.textContent('[data-task-row="tick"] .c-output');
    await page.waitForFunction(
      (before) =>
        document.querySelector('[data-task-row="tick"] .c-output')?.textContent !== before,
      shown,
    );
  }
}

/**
 * Visible text (HTML and the DAG's SVG) whose colour against what is drawn
 * behind it is under 4.5:1, one line each. Disabled controls are exempt
 * (WCAG 1.4.3 covers inactive components so).
 */
function lowContrastText(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const rgba = (c: string): number[] | undefined => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m?.[1]) return undefined;
      const p = m[1]
        .split(/[ ,/]+/)
        .filter(Boolean)
        .map(Number);
      return [p[0] ?? 0, p[1] ?? 0, p[2] ?? 0, p[3] ?? 1];
    };
    const over = (top: number[], under: number[]) =>
      [0, 1, 2].map((i) => (top[i] ?? 0) * (top[3] ?? 1) + (under[i] ?? 0) * (1 - (top[3] ?? 1)));
    const luminance = (c: number[]) => {
      const [r, g, b] = c.map((v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (b ?? 0);
    };
    const low: string[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent?.trim();
      const el = node.parentElement;
      if (!text || !el || el.closest('[hidden], [aria-hidden="true"], noscript, title, option'))
        continue;
      if (el.closest(':disabled')) continue;
      const box = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      if (box.width === 0 || box.height === 0 || style.visibility === 'hidden') continue;
      // What is behind: the first opaque background up the tree (a DAG node's box for its text).
      const layers: number[][] = [];
      for (let e: Element | null = el; e; e = e.parentElement) {
        const shape = e.localName === 'g' ? e.querySelector(':scope > rect.box') : null;
        const c = rgba(shape ? getComputedStyle(shape).fill : getComputedStyle(e).backgroundColor);
        if (c && (c[3] ?? 0) > 0) layers.push(c);
        if (c && c[3] === 1) break;
      }
      let behind = [255, 255, 255];
      for (const layer of layers.reverse()) behind = over(layer, behind);
      const fg = rgba(el instanceof SVGElement ? style.fill : style.color);
      if (!fg) continue;
      const shown = over(
        [fg[0] ?? 0, fg[1] ?? 0, fg[2] ?? 0, (fg[3] ?? 1) * Number(style.opacity)],
        behind,
      );
      const [a, b] = [luminance(shown), luminance(behind)];
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      if (ratio < 4.5)
        low.push(`${ratio.toFixed(2)}:1 ${el.localName}.${el.className} "${text.slice(0, 30)}"`);
    }
    return low;
  });
}

describe('ISSUE-17 inspector for keyboard users, by contrast and on every view', () => {
  it(
    'ISSUE-17 item 7: keyboard only while a busy run redraws: controls keep the focus, pause/resume/cancel, answer a wait with its error shown, open and close a task, search, zoom, enlarge, fork',
    async () => {
      const { rt, busy } = await busyRuntime();
      const { page, problems } = await open(rt.inspector!.url);
      await page.waitForSelector('g.task[data-task-id="tick"][data-status="running"]');
      await page.waitForSelector('[data-wait="region"]');

      // Reached by Tab, the run's controls keep the focus while the run redraws.
      await tabTo(page, 'button[data-action="pause"]');
      await twoRedraws(page);
      expect(await focusedMatches(page, 'button[data-action="pause"]')).toBe(true);
      // Pause: the focus moves to Resume (Pause is now disabled); Space resumes.
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid="run-state"][data-run-status="paused"]');
      await page.waitForFunction(() =>
        document.activeElement?.matches('button[data-action="resume"]:enabled'),
      );
      await page.keyboard.press('Space');
      await page.waitForSelector('[data-testid="run-state"][data-run-status="running"]');
      await page.waitForFunction(() =>
        document.activeElement?.matches('button[data-action="pause"]:enabled'),
      );

      // An event row of the timeline holds its place while events stream in; arrows move on.
      await tabTo(page, '[data-testid="timeline"] .row[tabindex="0"]');
      const seqOf = () => page.evaluate(() => document.activeElement?.getAttribute('aria-label'));
      const row = await seqOf();
      await twoRedraws(page);
      expect(await seqOf()).toBe(row);
      await page.keyboard.press('ArrowUp');
      const eventNumber = (label: string | null | undefined) =>
        Number(/^Event (\d+)/.exec(label ?? '')?.[1]);
      expect(eventNumber(await seqOf())).toBeLessThan(eventNumber(row));

      // Stored runs keep the focus too, while the list updates itself.
      await tabTo(
        page,
        '[data-testid="stored-runs"] button[data-workflow-id="chain-1"]',
        150,
        'Shift+Tab',
      );
      await rt.engine.execute(
        { name: 'other', tasks: [{ id: 'x', agent: 'quick' }] },
        {
          workflowId: 'other-1',
        },
      );
      await page.waitForSelector(
        '[data-testid="stored-runs"] button[data-workflow-id="other-1"] .badge.state-completed',
      );
      expect(
        await focusedMatches(
          page,
          '[data-testid="stored-runs"] button[data-workflow-id="chain-1"]',
        ),
      ).toBe(true);
      // The next Shift+Tab goes on from there (the run above), not from the top of the page.
      await page.keyboard.press('Shift+Tab');
      expect(
        await focusedMatches(page, '[data-testid="stored-runs"] button[data-workflow-id="busy-1"]'),
      ).toBe(true);

      // A wrong answer typed and sent by keyboard shows the error; a right one is taken.
      await tabTo(page, '[data-wait="region"] textarea');
      await page.keyboard.type('"mars"');
      await tabTo(page, '[data-wait="region"] button[data-answer="send"]', 3);
      await page.keyboard.press('Enter');
      const error = page.locator('[data-wait="region"] .wait-message.error[role="alert"]');
      await error.waitFor();
      expect(await error.textContent()).toMatch(/eu|us/);
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.press('Shift+Tab');
      expect(await focusedMatches(page, '[data-wait="region"] textarea')).toBe(true);
      await page.keyboard.press('ControlOrMeta+a');
      await page.keyboard.type('"eu"');
      await tabTo(page, '[data-wait="region"] button[data-answer="send"]', 3);
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-wait="region"]', { state: 'detached' });
      // The focus goes on to the wait left, not back to the top of the page.
      await page.waitForFunction(() => document.activeElement?.closest('[data-wait="ask"]'));
      // Approve with Space.
      await tabTo(page, '[data-wait="ask"] button[data-answer="approve"]');
      await page.keyboard.press('Space');
      await page.waitForSelector('[data-testid="waits"]', { state: 'hidden' });

      // Search: Enter shows the task in the drawer; Escape closes it, focus back in the search.
      await tabTo(page, '[data-testid="dag-search"]');
      await page.keyboard.type('tick');
      await page.keyboard.press('Enter');
      const drawer = page.locator('[data-testid="task-drawer"]');
      await drawer.locator('[data-testid="idempotency-key"]:text("busy-1:tick")').waitFor();
      await page.keyboard.press('Escape');
      await drawer.waitFor({ state: 'hidden' });
      expect(await focusedMatches(page, '[data-testid="dag-search"]')).toBe(true);
      // Zoom in from the keyboard.
      const transform = () => page.getAttribute('[data-testid="dag"] g.viewport', 'transform');
      const before = await transform();
      await tabTo(page, '[data-testid="dag"] [data-zoom="in"]', 10);
      await page.keyboard.press('Enter');
      await page.waitForFunction(
        (b) =>
          document.querySelector('[data-testid="dag"] g.viewport')?.getAttribute('transform') !== b,
        before,
      );
      // A DAG node opens with Enter, the drawer closes with Escape.
      await tabTo(page, 'g.task[data-task-id="ship"]', 20);
      await page.keyboard.press('Enter');
      await drawer.locator('[data-testid="idempotency-key"]:text("busy-1:ship")').waitFor();
      await page.keyboard.press('Escape');
      await drawer.waitFor({ state: 'hidden' });

      // Enlarge the statechart, Escape gives the focus back to Enlarge.
      await page.waitForSelector('[data-testid="statechart"] g.state');
      await tabTo(page, 'button.enlarge');
      await page.keyboard.press('Enter');
      await page.waitForSelector('.overlay[role="dialog"]:not([hidden])');
      // Tab and Shift+Tab go round the dialog's own controls, not the page it covers.
      for (const key of ['Tab', 'Tab', 'Tab', 'Tab', 'Tab', 'Shift+Tab', 'Shift+Tab']) {
        await page.keyboard.press(key);
        expect(await focusedMatches(page, '.overlay[role="dialog"] button')).toBe(true);
      }
      await page.keyboard.press('Escape');
      await page.waitForSelector('.overlay[role="dialog"][hidden]', { state: 'attached' });
      expect(await focusedMatches(page, 'button.enlarge')).toBe(true);

      // Cancel the busy run.
      await tabTo(page, 'button[data-action="cancel"]', 150, 'Shift+Tab');
      await page.keyboard.press('Enter');
      expect((await busy!.result).status).toBe('cancelled');
      await page.waitForSelector('[data-testid="run-state"][data-run-status="cancelled"]');

      // Open the stored chain, then fork from its first checkpoint: the fork opens.
      await tabTo(
        page,
        '[data-testid="stored-runs"] button[data-workflow-id="chain-1"]',
        150,
        'Shift+Tab',
      );
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid="checkpoints"]');
      const [first] = await rt.engine.history('chain-1');
      await tabTo(page, `[data-testid="checkpoints"] button[data-fork="${first!.seq}"]`);
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => {
        const meta = document.querySelector('[data-testid="run-panel"] .run-meta')?.textContent;
        return typeof meta === 'string' && !meta.startsWith('chain-1');
      });
      await page.waitForSelector('[data-testid="run-state"][data-run-status="completed"]');
      const fork = (await rt.engine.list()).find((r) => r.forkedFrom?.workflowId === 'chain-1');
      expect(fork?.forkedFrom?.checkpoint).toBe(first!.seq);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );

  it(
    'ISSUE-17 item 7: text has at least 4.5:1 contrast on a live run, a compensated stored run and the drawer, and every status shows a word',
    async () => {
      const { rt } = await busyRuntime();
      const saga = await rt.engine.startWithSagaPattern(
        {
          name: 'saga',
          tasks: [
            { id: 'book', agent: 'quick', compensation: 'undo' },
            { id: 'pay', agent: 'failer', dependsOn: ['book'], retry: { maxAttempts: 1 } },
            { id: 'ship', agent: 'quick', dependsOn: ['pay'] },
          ],
        },
        { undo: async () => undefined },
        { workflowId: 'saga-1' },
      );
      expect((await saga.result).status).toBe('compensated');
      const { page, problems } = await open(rt.inspector!.url);
      await page.waitForSelector('g.task[data-task-id="tick"][data-status="running"]');
      await page.click('[data-testid="legend"] summary');
      expect(await lowContrastText(page)).toEqual([]);
      await page.click('[data-testid="stored-runs"] button[data-workflow-id="saga-1"]');
      await page.waitForSelector('g.task[data-task-id="book"][data-status="compensated"]');
      await page.waitForSelector('[data-testid="checkpoints"]');
      expect(await lowContrastText(page)).toEqual([]);
      await page.locator('g.task[data-task-id="pay"]').click();
      await page.waitForSelector('[data-testid="attempts"]');
      expect(await lowContrastText(page)).toEqual([]);
      // Each node and table row says its status in words, beside its colour.
      const words = await page.$$eval('g.task[data-status]', (nodes) =>
        nodes.map((n) => [n.getAttribute('data-status'), n.textContent ?? '']),
      );
      for (const [status, text] of words) expect(text).toContain(status);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );
});

describe('ISSUE-17 inspector runs and views', () => {
  it(
    'ISSUE-17 item 5: a page opened after a run ended shows it, then opens the next run that starts; without the token no Fork or Replay, and the socket refuses a fork',
    async () => {
      const { rt, start } = await busyRuntime({ startBusy: false });
      const { page, problems } = await open(rt.inspector!.url);
      await page.waitForSelector('[data-testid="run-state"][data-run-status="completed"]');
      expect(await page.textContent('[data-testid="run-panel"] .run-meta')).toContain('chain-1');
      // As `troupe demo --inspect` opens it: no actor chosen, no statechart, axe-clean too.
      await page.waitForSelector('[data-testid="checkpoints"]');
      await page.screenshot({ path: path.join(OUT, 'view-ended-1440x900.png') });
      expect(await seriousAxeViolations(page)).toEqual([]);
      // Nothing was chosen: the run that starts now opens, live.
      await start();
      await page.waitForSelector('[data-testid="run-state"][data-run-status="running"]');
      expect(await page.textContent('[data-testid="run-panel"] .run-meta')).toContain('busy-1');
      await page.waitForSelector('g.task[data-task-id="tick"][data-status="running"]');
      expect(problems).toEqual([]);

      // Without the token: checkpoints to read, but no Fork or Replay; the socket refuses a fork.
      const url = new URL(rt.inspector!.url);
      url.searchParams.delete('token');
      const stranger = await open(url.href);
      await stranger.page.click('[data-testid="stored-runs"] button[data-workflow-id="chain-1"]');
      await stranger.page.waitForSelector('[data-testid="checkpoints"] button.checkpoint');
      expect(await stranger.page.locator('[data-fork], [data-testid="replay"]').count()).toBe(0);
      const runsBefore = (await rt.engine.list()).length;
      const [checkpoint] = await rt.engine.history('chain-1');
      const client = await TestClient.connect(wsUrl(rt.inspector!.url, { token: false }));
      clients.push(client);
      client.send({ id: 5, type: 'fork', workflowId: 'chain-1', seq: checkpoint!.seq });
      expect((await client.frame('reply', (f) => f.id === 5)).error?.code).toBe('FORBIDDEN');
      expect((await rt.engine.list()).length).toBe(runsBefore);
      expect(stranger.problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );

  it(
    'ISSUE-17 item 8: every view at 1440x900, 1024x768 and 390x844 (live run with its waits form, drawer, statechart enlarged, stored run, checkpoint) is saved as a screenshot and passes axe-core',
    async () => {
      const { rt } = await busyRuntime();
      const violations: string[] = [];
      for (const [width, height] of SCREEN_SIZES) {
        const { page, problems } = await open(rt.inspector!.url, [width, height]);
        const view = async (name: string) => {
          await page.screenshot({ path: path.join(OUT, `view-${name}-${width}x${height}.png`) });
          for (const v of await seriousAxeViolations(page))
            violations.push(`${name} ${width}: ${v}`);
        };
        await page.waitForSelector('g.task[data-task-id="tick"][data-status="running"]');
        await page.waitForSelector('[data-wait="region"] textarea');
        await page.waitForSelector('[data-testid="statechart"] g.state');
        await page.locator('[data-testid="waits"]').scrollIntoViewIfNeeded();
        await view('waits');
        await page.locator('[data-testid="dag"]').scrollIntoViewIfNeeded();
        await page.click('[data-testid="dag"] [data-zoom="fit"]');
        await view('run');
        await page.click('g.task[data-task-id="tick"]');
        const drawer = page.locator('[data-testid="task-drawer"]');
        await drawer.locator('[data-testid="idempotency-key"]').waitFor();
        await view('drawer');
        await page.keyboard.press('Escape');
        await drawer.waitFor({ state: 'hidden' });
        await page.click('button.enlarge');
        await page.waitForSelector('.overlay[role="dialog"]:not([hidden]) g.state');
        await view('statechart');
        await page.keyboard.press('Escape');
        await page.click('[data-testid="stored-runs"] button[data-workflow-id="chain-1"]');
        await page.waitForSelector('[data-testid="run-panel"] .badge.readonly:text("stored")');
        await page.waitForSelector('g.task[data-task-id="c"][data-status="completed"]');
        // Picked in the list (below the run on a phone), the run comes into view.
        await page.waitForFunction(() => {
          const top = document
            .querySelector('[data-testid="run-panel"]')!
            .getBoundingClientRect().top;
          return top >= 0 && top < window.innerHeight / 2;
        });
        await view('stored');
        await page.click('[data-testid="checkpoints"] button.checkpoint >> nth=1');
        await page.waitForSelector('[data-testid="run-panel"] .badge.readonly:text("checkpoint")');
        await page.locator('[data-testid="run-panel"] .raw').scrollIntoViewIfNeeded();
        await view('checkpoint');
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
          width,
        );
        expect(problems).toEqual([]);
      }
      expect(violations).toEqual([]);
    },
    ALL_VIEWS_TEST_MS,
  );
});
