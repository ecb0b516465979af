/**
 * Makes docs/inspector.png, the README's picture of the inspector: a release
 * run in progress at 1440x900 with a fan-out folded into a group, a task
 * that succeeded after a failed attempt, a task whose attempt failed
 * (payment declined, waiting out its backoff), tasks running with progress,
 * and an approval waiting for an answer above the DAG. Uses
 * Debian's Chromium through playwright-core, like the browser tests.
 *
 *   npx tsx --conditions=development scripts/inspector-screenshot.ts [out.png]
 */
import path from 'node:path';
import { createRuntime, defineAgent } from '../src/index.js';
import { launchChromium } from '../test/inspector/browser.js';

const out = path.resolve(process.argv[2] ?? 'docs/inspector.png');
let release!: () => void;
const held = new Promise<void>((resolve) => {
  release = resolve;
});

const rt = await createRuntime({
  dataDir: false,
  inspector: { port: 0, controls: true },
  agents: [
    defineAgent({ role: 'quick', concurrency: 20, run: async (task) => ({ done: task.id }) }),
    defineAgent({
      role: 'analyst',
      run: async (_task, ctx) => {
        if (ctx.attempt === 1) throw new Error('rate limited by the model provider: try again');
        return { summary: 'tides are rising 3 mm a year', usage: { totalTokens: 1_842 }, turns: 3 };
      },
    }),
    defineAgent({
      role: 'billing',
      run: () => {
        throw new Error('payment declined by the bank (card expired)');
      },
    }),
    defineAgent({
      role: 'writer',
      concurrency: 4,
      run: async (_task, ctx) => {
        ctx.progress(0.6, 'drafting section 3 of 5');
        await held;
        return 'done';
      },
    }),
  ],
});

const fetches = Array.from({ length: 24 }, (_, i) => ({
  id: `fetch-${i + 1}`,
  agent: 'quick',
  dependsOn: ['plan'],
}));
const handle = await rt.engine.start(
  {
    name: 'release notes v2',
    maxConcurrency: 30,
    tasks: [
      { id: 'plan', agent: 'quick', description: 'Plan the release notes' },
      ...fetches,
      { id: 'merge-sources', agent: 'quick', dependsOn: fetches.map((f) => f.id) },
      {
        id: 'analyse',
        agent: 'analyst',
        dependsOn: ['merge-sources'],
        retry: { maxAttempts: 3, initialDelayMs: 10 },
      },
      { id: 'write-draft', agent: 'writer', dependsOn: ['analyse'] },
      { id: 'review', agent: 'writer', dependsOn: ['analyse'] },
      {
        id: 'charge-customer',
        agent: 'billing',
        dependsOn: ['analyse'],
        retry: { maxAttempts: 5, initialDelayMs: 600_000 },
      },
      {
        id: 'approve-publish',
        kind: 'approval',
        dependsOn: ['analyse'],
        wait: { prompt: 'Publish the v2 release notes to the website and the mailing list?' },
      },
      { id: 'publish', agent: 'quick', dependsOn: ['write-draft', 'review', 'approve-publish'] },
    ],
  },
  { workflowId: 'release-v2' },
);

const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(rt.inspector!.url);
  await page.waitForSelector('[data-wait="approve-publish"]');
  await page.waitForSelector('g.task[data-task-id="charge-customer"][data-status="retrying"]');
  await page.waitForSelector('g.task[data-task-id="write-draft"][data-status="running"]');
  await page.waitForSelector('[data-testid="statechart"] g.state');
  await page.click('[data-testid="dag"] [data-zoom="fit"]');
  // The table's last rows: the failed attempt's error, the waiting and running tasks.
  await page.$eval('.task-table', (table) => {
    table.scrollTop = table.scrollHeight;
  });
  await page.waitForSelector('[data-task-row="charge-customer"]');
  await page.screenshot({ path: out });
  process.stdout.write(`${out}\n`);
} finally {
  await browser.close();
  release();
  await rt.engine.cancel(handle.workflowId, 'screenshot taken');
  await handle.result;
  await rt.close();
}
