/**
 * The inspector page at scale, in Debian's Chromium: a workflow of 10,000
 * tasks (a fan-out behind one gate task, each task yielding to the event loop
 * like any task doing I/O), measuring what a person watching feels:
 *
 * - the run's speed with a page watching against no page, alternated in one
 *   process so that other load falls on both alike;
 * - frame gaps: the time between animation frames on the page that watches
 *   the whole run (p50, p95, max), and its long tasks (over 50 ms);
 * - late join: in runs after those rounds, a page opened once the run goes,
 *   from `goto` to the first frame with the DAG's boxes (on the page's clock),
 *   and to when `waitForSelector` in this process noticed them.
 *
 * The machine may be shared, so each round also records the load average and
 * the CPU time the runtime (this process) and Chromium (all its processes)
 * spent on each run: CPU time moves much less with other load than wall time.
 *
 *   npx tsx --conditions=development bench/inspector-page.ts
 *   INSPECTOR_BENCH_ROUNDS=1 ... (a quicker look; 3 rounds by default)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { Browser, Page } from 'playwright-core';
import { createRuntime, defineAgent, type Runtime } from '../src/index.js';
import { launchChromium } from '../test/inspector/browser.js';
import { median, printTable } from './harness.js';

const TASKS = 10_000;
const ROUNDS = Number(process.env.INSPECTOR_BENCH_ROUNDS ?? 3);

/**
 * Before the gate opens, in every mode alike: wait until Chromium is quiet
 * (under {@link QUIET_CPU_MS} of CPU in {@link QUIET_WINDOW_MS}, across all
 * its processes; at most {@link QUIET_MAX_MS}), then a full garbage
 * collection. A page just opened keeps Chromium busy for a second or more
 * after its DAG is in the document (its renderer starting, the script
 * compiled, the first drawing of 10,000 tasks); an about:blank page opened
 * just before a run slowed it by 40% in a trial. Without the wait the
 * measured run carried the page's start, and the previous run's garbage.
 */
const QUIET_WINDOW_MS = 200;
const QUIET_CPU_MS = 10;
const QUIET_MAX_MS = 5_000;

async function settle(): Promise<void> {
  const until = performance.now() + QUIET_MAX_MS;
  let before = chromiumCpuMs();
  while (performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, QUIET_WINDOW_MS));
    const now = chromiumCpuMs();
    if (now - before < QUIET_CPU_MS) break;
    before = now;
  }
  (globalThis as { gc?: () => void }).gc?.();
}

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

/**
 * Records, on the page's own clock, the first animation frame in which the
 * DAG's boxes are in the document: when a person sees them. The bench's
 * `waitForSelector` notices later, by round trips through this process's
 * event loop, which the running workflow keeps busy (seconds under load).
 */
const DAG_SEEN_PROBE = `
  new MutationObserver((_, observer) => {
    if (!document.querySelector('[data-testid="dag"] g.task')) return;
    observer.disconnect();
    requestAnimationFrame(() => { window.__dagSeenAt = performance.timeOrigin + performance.now(); });
  }).observe(document, { subtree: true, childList: true });
`;

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

/** CPU ms spent so far by every Chromium process (from /proc; 0 where there is none). */
function chromiumCpuMs(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('chromium')) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended while we read it.
    }
  }
  return ticks * 10;
}

type Mode = 'unwatched' | 'watched' | 'late';

/** One run: no page, a page watching from the start, or a page joining once it goes. */
async function oneRun(mode: Mode, browser: Browser) {
  const { rt, openGate } = await runtime();
  try {
    let page: Page | undefined;
    if (mode === 'watched') {
      page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      await page.goto(rt.inspector!.url);
      await page.waitForSelector('[data-connection="open"]');
    }
    const handle = await rt.engine.start(definition(), { workflowId: 'scale' });
    if (page) await page.waitForSelector('[data-testid="dag"] g.task');
    await settle();
    if (page) await startFrameProbe(page);
    const chromium0 = chromiumCpuMs();
    const node0 = process.cpuUsage();
    const started = performance.now();
    openGate();
    let lateJoin: { shown: number; noticed: number } | undefined;
    if (mode === 'late') {
      const late = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      await late.addInitScript(DAG_SEEN_PROBE);
      const t0 = performance.now();
      const opened = Date.now();
      await late.goto(rt.inspector!.url);
      await late.waitForSelector('[data-testid="dag"] g.task');
      const noticed = performance.now() - t0;
      const seenAt = (await late.evaluate('window.__dagSeenAt')) as number;
      lateJoin = { shown: seenAt - opened, noticed };
      await late.close();
    }
    const result = await handle.result;
    const runMs = performance.now() - started;
    const node = process.cpuUsage(node0);
    const cpu = { node: (node.user + node.system) / 1000, chromium: chromiumCpuMs() - chromium0 };
    if (result.status !== 'completed') throw new Error(`run ended ${result.status}`);
    const frames = page ? await stopFrameProbe(page) : undefined;
    await page?.close();
    return { runMs, lateJoin, frames, cpu };
  } finally {
    await rt.close();
  }
}

const browser = await launchChromium();
try {
  const watched: number[] = [];
  const unwatched: number[] = [];
  const lateJoins: number[] = [];
  const lateNoticed: number[] = [];
  const gaps: number[] = [];
  const cpu = {
    unwatchedNode: [] as number[],
    watchedNode: [] as number[],
    chromium: [] as number[],
  };
  let longTasks = 0;
  const loads: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    loads.push(loadavg()[0]!.toFixed(1));
    // Alternate, so that load from other processes falls on both alike.
    const alone = await oneRun('unwatched', browser);
    unwatched.push(alone.runMs);
    cpu.unwatchedNode.push(alone.cpu.node);
    const seen = await oneRun('watched', browser);
    watched.push(seen.runMs);
    cpu.watchedNode.push(seen.cpu.node);
    cpu.chromium.push(seen.cpu.chromium);
    if (seen.frames) {
      gaps.push(...seen.frames.gaps);
      longTasks += seen.frames.long;
    }
  }
  // The late joins come after the speed rounds, not between them. With a
  // late-join run in each round, the watched runs measured 20-30% slower and
  // the runtime's CPU rose with them; with all the late joins before the
  // speed rounds, or after them, the watched runs were as fast as the
  // unwatched ones (102-107%). That measured the order of the runs.
  for (let round = 0; round < ROUNDS; round++) {
    const late = await oneRun('late', browser);
    if (late.lateJoin) {
      lateJoins.push(late.lateJoin.shown);
      lateNoticed.push(late.lateJoin.noticed);
    }
  }
  loads.push(loadavg()[0]!.toFixed(1));
  // Each round's pair, side by side in time, gives one ratio: drift in the
  // machine's speed between rounds falls on both runs of a pair alike.
  const speed = median(unwatched.map((alone, i) => alone / watched[i]!));
  printTable(
    `inspector page, ${TASKS.toLocaleString('en')} tasks, ${ROUNDS} rounds alternated, load average ${loads.join(' -> ')}`,
    ['measure', 'value'],
    [
      ['run, no page (median ms)', median(unwatched).toFixed(0)],
      ['run, page watching (median ms)', median(watched).toFixed(0)],
      [
        'each round, no page / watching (ms)',
        unwatched.map((alone, i) => `${alone.toFixed(0)}/${watched[i]!.toFixed(0)}`).join(' '),
      ],
      [
        'watched speed vs unwatched (median of the rounds\u2019 ratios)',
        `${(speed * 100).toFixed(0)}%`,
      ],
      [
        'runtime CPU, no page / page watching (median ms)',
        `${median(cpu.unwatchedNode).toFixed(0)} / ${median(cpu.watchedNode).toFixed(0)}`,
      ],
      ['Chromium CPU while watching (median ms)', median(cpu.chromium).toFixed(0)],
      [
        'late join to DAG drawn, page clock (median / max ms)',
        `${median(lateJoins).toFixed(0)} / ${Math.max(...lateJoins).toFixed(0)}`,
      ],
      [
        'late join to DAG noticed by waitForSelector (median / max ms)',
        `${median(lateNoticed).toFixed(0)} / ${Math.max(...lateNoticed).toFixed(0)}`,
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
