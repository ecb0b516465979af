/// <reference lib="dom" />
/**
 * Issue 17 items 4, 5 and 7, in headless Chromium: what a user auditing the
 * page found missing. A page opened after the run ended draws that run's
 * statechart without an actor being picked.
 */
import { describe, expect, it } from 'vitest';
import { createRuntime, defineAgent } from '../../src/index.js';
import { scratchDir, useScratch } from '../durability/helpers.js';
import { openInspector, useChromium, usePageCleanup } from './browser.js';

const BROWSER_TEST_MS = 120_000;

useScratch();
const browser = useChromium('test-output/inspector');
const cleanup = usePageCleanup();

async function runtime() {
  const rt = await createRuntime({
    dataDir: await scratchDir('troupe-page-gaps-'),
    inspector: { port: 0, controls: true },
    agents: [defineAgent({ role: 'quick', run: async (task) => ({ done: task.id }) })],
  });
  cleanup.rt = rt;
  return rt;
}

const chain = {
  name: 'chain',
  tasks: [
    { id: 'one', agent: 'quick' },
    { id: 'two', agent: 'quick', dependsOn: ['one'] },
  ],
};

describe('ISSUE-17 page gaps', () => {
  it(
    'item 4: a page opened after the run ended shows that run statechart, in its final state, with nothing picked',
    async () => {
      const rt = await runtime();
      await (await rt.engine.start(chain, { workflowId: 'ended-1' })).result;
      const { page, context, problems } = await openInspector(browser(), rt.inspector!.url);
      cleanup.context = context;
      await page.waitForSelector('[data-testid="run-state"][data-run-status="completed"]');
      const chart = page.locator('section.statechart');
      await chart.locator('g.state.active[data-path="completed"]').waitFor();
      expect(await chart.locator('h2').first().textContent()).toBe(
        'Statechart — workflow:ended-1 (ended)',
      );
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );

  it(
    'item 5: "Runs ended in this session" shows only once a run has ended while the page was open',
    async () => {
      const rt = await runtime();
      const { page, context } = await openInspector(browser(), rt.inspector!.url);
      cleanup.context = context;
      const heading = page.getByRole('heading', { name: 'Runs ended in this session' });
      await page.locator('button[data-actor="orchestrator"]').waitFor();
      expect(await heading.count()).toBe(0);
      await (await rt.engine.start(chain, { workflowId: 'ends-here' })).result;
      await heading.waitFor();
      await page.locator('ul.ended button[data-actor="workflow:ends-here"]').waitFor();
    },
    BROWSER_TEST_MS,
  );

  it(
    'item 4: the enlarged statechart is a dialog named by a visible heading that names the actor',
    async () => {
      const rt = await runtime();
      await (await rt.engine.start(chain, { workflowId: 'big-1' })).result;
      const { page, context } = await openInspector(browser(), rt.inspector!.url);
      cleanup.context = context;
      await page.locator('button[data-actor="orchestrator"]').click();
      await page.locator('section.statechart svg.chart-svg').waitFor();
      await page.click('button.enlarge');
      const dialog = page.getByRole('dialog', { name: 'Statechart — orchestrator' });
      await dialog.waitFor();
      const heading = dialog.getByRole('heading', { name: 'Statechart — orchestrator' });
      expect(await heading.isVisible()).toBe(true);
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
    },
    BROWSER_TEST_MS,
  );
});
