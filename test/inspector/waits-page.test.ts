/// <reference lib="dom" />
/**
 * Issue 15 in the inspector: waiting tasks shown above the DAG with their
 * prompt and their own mark, answered from the page with the token (an
 * approval clicked in headless Chromium, an input checked against its JSON
 * Schema before it is sent), refused without it, and a wrong answer sent
 * over the socket refused by the runtime while the task keeps waiting.
 */
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRuntime, defineAgent, type Runtime } from '../../src/index.js';
import type { WaitView } from '../../src/runtime/inspector/protocol.js';
import { scratchDir, useScratch } from '../durability/helpers.js';
import { openInspector, seriousAxeViolations, useChromium } from './browser.js';
import { TestClient, wsUrl } from './helpers.js';

const BROWSER_TEST_MS = 120_000;
const OUT = path.resolve('test-output/inspector');

useScratch();
const browser = useChromium(OUT);
const contexts: BrowserContext[] = [];
const clients: TestClient[] = [];
let rt: Runtime | undefined;

afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close();
  for (const client of clients.splice(0)) client.close();
  await rt?.close();
  rt = undefined;
});

/** An approval before a deploy, an input task with a schema, and an agent that asks in its code. */
async function deployRuntime() {
  const deployed: string[] = [];
  rt = await createRuntime({
    dataDir: await scratchDir('troupe-waits-page-'),
    inspector: { port: 0, controls: true },
    agents: [
      defineAgent({
        role: 'ops',
        run: async (task, ctx) => {
          deployed.push(`${task.id}:${JSON.stringify(ctx.dependencies)}`);
          return { deployed: true };
        },
      }),
      defineAgent({
        role: 'asker',
        run: async (_task, ctx) => {
          const answer = await ctx.waitFor('release-notes', {
            prompt: 'How many release notes should be written?',
            schema: z.object({ count: z.number().int().min(1) }),
          });
          return answer;
        },
      }),
    ],
  });
  const handle = await rt.engine.start(
    {
      name: 'deploy with approval',
      tasks: [
        { id: 'approve-deploy', kind: 'approval', wait: { prompt: 'Deploy v2 to prod?' } },
        {
          id: 'region',
          kind: 'input',
          wait: { prompt: 'Which region?', schema: { type: 'string', enum: ['eu', 'us'] } },
        },
        { id: 'notes', agent: 'asker' },
        { id: 'deploy', agent: 'ops', dependsOn: ['approve-deploy', 'region', 'notes'] },
      ],
    },
    { workflowId: 'deploy-1' },
  );
  return { rt, handle, deployed };
}

async function open(url: string, bypassCSP = false) {
  const opened = await openInspector(browser(), url, { bypassCSP });
  contexts.push(opened.context);
  return opened;
}

describe('ISSUE-15 inspector: waiting tasks answered from the page', () => {
  it(
    'lists waits with their prompts, checks an input against its schema, and an approve click finishes the run',
    async () => {
      const { rt, handle, deployed } = await deployRuntime();
      const { page, problems } = await open(rt.inspector!.url, true);
      const waits = page.locator('[data-testid="waits"]');
      await page.waitForSelector('[data-testid="waits"] [data-wait="release-notes"]');
      // Every wait with its prompt and kind; the tasks carry the waiting mark in the DAG.
      await expect.poll(() => waits.locator('[data-wait]').count()).toBe(3);
      expect(await waits.textContent()).toContain('Deploy v2 to prod?');
      expect(await waits.textContent()).toContain('Which region?');
      expect(await waits.textContent()).toContain('How many release notes should be written?');
      await page.waitForSelector('g.task[data-task-id="approve-deploy"][data-status="waiting"]');
      await page.waitForSelector('g.task[data-task-id="notes"][data-status="waiting"]');
      await page.screenshot({ path: path.join(OUT, 'waits-1440x900.png') });
      expect(await seriousAxeViolations(page)).toEqual([]);

      // A wrong input is caught on the page, against the wait's schema; nothing is sent.
      const region = waits.locator('[data-wait="region"]');
      await region.locator('textarea').fill('"mars"');
      await region.locator('[data-answer="send"]').click();
      await expect.poll(() => region.locator('.wait-message.error').textContent()).toMatch(/eu/);
      expect((await rt.engine.getState('deploy-1'))?.tasks.region?.status).toBe('waiting');
      await region.locator('textarea').fill('"eu"');
      await region.locator('[data-answer="send"]').click();
      await page.waitForSelector('[data-testid="waits"] [data-wait="region"]', {
        state: 'detached',
      });

      // The agent's own wait (zod schema in its code, JSON Schema on the wire).
      const notes = waits.locator('[data-wait="release-notes"]');
      await notes.locator('textarea').fill('{"count": 0}');
      await notes.locator('[data-answer="send"]').click();
      await expect.poll(() => notes.locator('.wait-message.error').textContent()).toMatch(/count/);
      await notes.locator('textarea').fill('{"count": 2}');
      await notes.locator('[data-answer="send"]').click();
      await page.waitForSelector('[data-testid="waits"] [data-wait="release-notes"]', {
        state: 'detached',
      });

      await page.locator('[data-wait="approve-deploy"] [data-answer="approve"]').click();
      await page.waitForSelector('[data-testid="run-state"][data-run-status="completed"]');
      await page.waitForSelector('g.task[data-task-id="deploy"][data-status="completed"]');
      expect(await page.locator('[data-testid="waits"]').isHidden()).toBe(true);
      const result = await handle.result;
      expect(result.status).toBe('completed');
      expect(result.tasks['approve-deploy']?.output).toEqual({ approved: true, by: 'inspector' });
      expect(deployed).toEqual([
        'deploy:{"approve-deploy":{"approved":true,"by":"inspector"},"region":"eu","notes":{"count":2}}',
      ]);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );

  it(
    'a page without the token sees the prompt and no form; a reject with a reason fails the approval and the run',
    async () => {
      const { rt, handle } = await deployRuntime();
      const url = new URL(rt.inspector!.url);
      url.searchParams.delete('token');
      const watcher = await open(url.toString());
      await watcher.page.waitForSelector('[data-wait="approve-deploy"]');
      expect(await watcher.page.textContent('[data-wait="approve-deploy"]')).toContain(
        'troupe approve deploy-1 approve-deploy',
      );
      expect(await watcher.page.locator('[data-testid="waits"] button[data-answer]').count()).toBe(
        0,
      );

      const { page } = await open(rt.inspector!.url);
      const approval = page.locator('[data-wait="approve-deploy"]');
      await approval.locator('input.wait-reason').fill('change freeze');
      await approval.locator('[data-answer="reject"]').click();
      await page.waitForSelector('g.task[data-task-id="approve-deploy"][data-status="failed"]');
      await watcher.page.waitForSelector(
        'g.task[data-task-id="approve-deploy"][data-status="failed"]',
      );
      // The rejection fails the run: the other waits close, and the panel with them.
      const result = await handle.result;
      expect(result.status).toBe('failed');
      await watcher.page.waitForSelector('[data-testid="run-state"][data-run-status="failed"]');
      await watcher.page.waitForSelector('[data-testid="waits"]', { state: 'hidden' });
      expect(result.tasks['approve-deploy']?.error?.code).toBe('APPROVAL_REJECTED');
      expect(result.tasks['approve-deploy']?.error?.message).toMatch(/change freeze/);
      expect(watcher.problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );

  it('over the socket: waits in run frames, FORBIDDEN without the token, INVALID_SIGNAL for a wrong answer', async () => {
    const { rt, handle } = await deployRuntime();
    const client = await TestClient.connect(wsUrl(rt.inspector!.url));
    const stranger = await TestClient.connect(wsUrl(rt.inspector!.url, { token: false }));
    clients.push(client, stranger);
    let waits: WaitView[] = [];
    client.send({ type: 'run.watch', workflowId: 'deploy-1' });
    await client.waitFor(() => {
      for (const frame of client.frames) {
        if (frame.type === 'run.detail') waits = frame.run.waits;
        if (frame.type === 'run.tasks' && frame.waits) waits = frame.waits;
      }
      return waits.length === 3;
    }, 'three open waits');
    expect(waits.find((w) => w.name === 'region')).toMatchObject({
      kind: 'input',
      taskId: 'region',
      prompt: 'Which region?',
      schema: { type: 'string', enum: ['eu', 'us'] },
    });
    expect(waits.find((w) => w.name === 'approve-deploy')?.kind).toBe('approval');

    stranger.send({
      id: 7,
      type: 'signal',
      workflowId: 'deploy-1',
      name: 'region',
      payload: 'eu',
    });
    const forbidden = await stranger.frame('reply', (r) => r.id === 7);
    expect(forbidden.error?.code).toBe('FORBIDDEN');

    client.send({ id: 8, type: 'signal', workflowId: 'deploy-1', name: 'region', payload: 'mars' });
    const invalid = await client.frame('reply', (r) => r.id === 8);
    expect(invalid.error?.code).toBe('INVALID_SIGNAL');
    client.send({ id: 9, type: 'signal', workflowId: 'deploy-1', name: 'nope', payload: 1 });
    expect((await client.frame('reply', (r) => r.id === 9)).error?.code).toBe('WAIT_NOT_FOUND');
    expect((await rt.engine.getState('deploy-1'))?.tasks.region?.status).toBe('waiting');

    client.send({ id: 10, type: 'signal', workflowId: 'deploy-1', name: 'region', payload: 'us' });
    expect((await client.frame('reply', (r) => r.id === 10)).ok).toBe(true);
    await client.frame(
      'run.tasks',
      (f) => f.waits !== undefined && !f.waits.some((w) => w.name === 'region'),
    );
    await rt.engine.cancel('deploy-1', 'test over');
    expect((await handle.result).tasks.region?.output).toBe('us');
  });
});
