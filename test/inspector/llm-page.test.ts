/// <reference lib="dom" />
/**
 * Issue 16 (items 5 and 6) in the inspector: an LLM agent's tool call that
 * waits for approval gets Approve / Reject buttons like an approval task,
 * and the task drawer lists what the agent wrote and called as it happens.
 * Real headless Chromium, the real openai client against the test server.
 */
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { defineLlmAgent } from '../../src/actors/llm/index.js';
import { createRuntime, type Runtime } from '../../src/index.js';
import { reply, startOpenAiTestServer } from '../../src/testing/index.js';
import { scratchDir, useScratch } from '../durability/helpers.js';
import { deployTool } from '../fixtures/deploy-tool.js';
import { openInspector, useChromium } from './browser.js';

const BROWSER_TEST_MS = 120_000;
const OUT = path.resolve('test-output/inspector');

useScratch();
const browser = useChromium(OUT);
const contexts: BrowserContext[] = [];
const cleanups: Array<() => Promise<unknown>> = [];
let rt: Runtime | undefined;

afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close();
  await rt?.close();
  rt = undefined;
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('ISSUE-16 inspector: LLM activity and tool approvals', () => {
  it(
    'approves a waiting tool call from the page; the drawer shows the text, the call and its result',
    async () => {
      const server = await startOpenAiTestServer({
        chat: [
          reply.toolCall(
            'deploy',
            { version: 'v2' },
            { content: 'Checking the build, then deploying v2.' },
          ),
          reply.text('Deployed v2 to production after approval.'),
        ],
      });
      cleanups.push(() => server.close());
      const deployed: string[] = [];
      const deploy = deployTool((version) => deployed.push(version));
      rt = await createRuntime({
        dataDir: await scratchDir('troupe-llm-page-'),
        inspector: { port: 0, controls: true },
        agents: [
          defineLlmAgent({
            role: 'deployer',
            systemPrompt: 'You deploy.',
            tools: [deploy],
            llm: { baseURL: server.url, apiKey: 'test', model: 'test-model', maxRetries: 0 },
          }),
        ],
      });
      const handle = await rt.engine.start(
        { name: 'ship', tasks: [{ id: 'ship', agent: 'deployer', description: 'Deploy v2.' }] },
        { workflowId: 'ship-1' },
      );
      const opened = await openInspector(browser(), rt.inspector!.url, { bypassCSP: true });
      contexts.push(opened.context);
      const { page, problems } = opened;

      const wait = page.locator('[data-wait="ship:deploy:0.1.0"]');
      await wait.waitFor();
      expect(await wait.textContent()).toContain(
        'agent "deployer", task "ship" wants to call deploy with {"version":"v2"}. Approve?',
      );
      await page.locator('[data-task-row="ship"]').click();
      const log = page.locator('[data-testid="llm-log"]');
      await expect
        .poll(() => log.textContent())
        .toMatch(
          /Checking the build, then deploying v2\.[\s\S]*→ deploy \{"version":"v2"\} \(waits for approval\)/,
        );
      expect(deployed).toEqual([]);

      await wait.locator('[data-answer="approve"]').click();
      const result = await handle.result;
      expect(result.status).toBe('completed');
      expect(deployed).toEqual(['v2']);
      await expect
        .poll(() => log.textContent())
        .toMatch(/← deploy \{"deployed":"v2"\}[\s\S]*Deployed v2 to production after approval\./);
      await page.screenshot({ path: path.join(OUT, 'llm-drawer-1440x900.png') });
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_MS,
  );
});
