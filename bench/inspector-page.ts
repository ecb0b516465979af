/**
 * The inspector page at scale, in Debian's Chromium: a workflow of 10,000
 * tasks (a fan-out behind one gate task, each task yielding to the event loop
 * like any task doing I/O), measuring what a person watching feels:
 *
 * - late join: a page opened while the run goes, from `goto` to the DAG drawn;
 * - frame gaps: the time between animation frames on a page that watches the
 *   whole run (p50, p95, max), and its long tasks (over 50 ms);
 * - the run's speed with a page watching against no page, alternated in one
 *   process so that other load falls on both alike.
 *
 *   npx tsx --conditions=development bench/inspector-page.ts
 *   INSPECTOR_BENCH_ROUNDS=1 ... (a quicker look; 3 rounds by default)
 */
import type { Browser, Page } from 'playwright-core';
import { createRuntime, defineAgent, type Runtime } from '../src/index.js';
import { launchChromium } from '../test/inspector/browser.js';
import { median, printTable } from './harness.js';

const TASKS = 10_000;
const ROUNDS = Number(process.env.INSPECTOR_BENCH_ROUNDS ?? 3);

const yielding = () => new Promise<string>((resolve) => setImmediate(() => resolve('ok')));

async function runtime(): Promise<{ rt: Runtime; openGate: () => void }> {
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => {
    openGate = resolve;
  });
  const rt = await createRuntime({ dataDir: false, inspector: { port: 0 } });
  rt.registerAgent(defineAgent({ role: 'gate', run: async () => gate.then(() => 'open') }));
  rt.registerAgent(defineAgent({ role: 'work', concurrency: 100, run: yielding }));
  return { rt, openGate };
}

function definition() {
  return {
    name: 'scale',
    maxConcurrency: 100,
    tasks: [
      { id: 'gate', agent: 'gate' },
      ...Array.from({ length: TASKS }, (_, i) => ({
        id: `t${i}`,
        agent: 'work',
        dependsOn: ['gate'],
      })),
    ],
  };
}

/**
 * Records animation-frame times and long tasks in the page. Passed as text:
 * tsx would wrap a named function in a helper the page does not have.
 */
const FRAME_PROBE = `
  window.__frames = []; window.__long = 0; window.__stop = false;
  new PerformanceObserver((list) => { window.__long += list.getEntries().length; })
    .observe({ type: 'longtask' });
  const tick = (t) => { window.__frames.push(t); if (!window.__stop) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
`;

const FRAME_RESULT = `(() => {
  window.__stop = true;
  const f = window.__frames;
  return { gaps: f.slice(1).map((t, i) => t - f[i]), long: window.__long };
})()`;

async function startFrameProbe(page: Page): Promise<void> {
  await page.evaluate(FRAME_PROBE);
}

async function stopFrameProbe(page: Page): Promise<{ gaps: number[]; long: number }> {
  return (await page.evaluate(FRAME_RESULT)) as { gaps: number[]; long: number };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

/** One run; with `browser`, a page watches it from the start (and one joins late). */
async function oneRun(browser: Browser | undefined) {
  const { rt, openGate } = await runtime();
  try {
    let page: Page | undefined;
    if (browser) {
      page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      await page.goto(rt.inspector!.url);
      await page.waitForSelector('[data-connection="open"]');
    }
    const handle = await rt.engine.start(definition(), { workflowId: 'scale' });
    if (page) {
      await page.waitForSelector('[data-testid="dag"] g.task');
      await startFrameProbe(page);
    }
    const started = performance.now();
    openGate();
    let lateJoinMs: number | undefined;
    if (browser) {
      const late = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      const t0 = performance.now();
      await late.goto(rt.inspector!.url);
      await late.waitForSelector('[data-testid="dag"] g.task');
      lateJoinMs = performance.now() - t0;
      await late.close();
    }
    const result = await handle.result;
    const runMs = performance.now() - started;
    if (result.status !== 'completed') throw new Error(`run ended ${result.status}`);
    const frames = page ? await stopFrameProbe(page) : undefined;
    await page?.close();
    return { runMs, lateJoinMs, frames };
  } finally {
    await rt.close();
  }
}

const browser = await launchChromium();
try {
  const watched: number[] = [];
  const unwatched: number[] = [];
  const lateJoins: number[] = [];
  const gaps: number[] = [];
  let longTasks = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate, so that load from other processes falls on both alike.
    unwatched.push((await oneRun(undefined)).runMs);
    const seen = await oneRun(browser);
    watched.push(seen.runMs);
    if (seen.lateJoinMs !== undefined) lateJoins.push(seen.lateJoinMs);
    if (seen.frames) {
      gaps.push(...seen.frames.gaps);
      longTasks += seen.frames.long;
    }
  }
  const speed = median(unwatched) / median(watched);
  printTable(
    `inspector page, ${TASKS.toLocaleString('en')} tasks, ${ROUNDS} rounds alternated`,
    ['measure', 'value'],
    [
      ['run, no page (median ms)', median(unwatched).toFixed(0)],
      ['run, page watching (median ms)', median(watched).toFixed(0)],
      ['watched speed vs unwatched', `${(speed * 100).toFixed(0)}%`],
      [
        'late join to DAG drawn (median / max ms)',
        `${median(lateJoins).toFixed(0)} / ${Math.max(...lateJoins).toFixed(0)}`,
      ],
      [
        'frame gap p50 / p95 / max (ms)',
        `${percentile(gaps, 50).toFixed(0)} / ${percentile(gaps, 95).toFixed(0)} / ${Math.max(...gaps).toFixed(0)}`,
      ],
      ['long tasks (over 50 ms) per watched run', (longTasks / ROUNDS).toFixed(1)],
    ],
  );
} finally {
  await browser.close();
}
