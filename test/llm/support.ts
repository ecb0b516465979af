/**
 * Shared setup of the LLM suites: a test server per test, a client pointed at
 * it (with an empty environment, so the machine's OPENAI_* variables never
 * leak in), temporary folders, and stub specialists for planning.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { SPECIALIST_ROLES, specialist } from '../../src/actors/agents/specialists.js';
import {
  createLlmClient,
  type LlmClient,
  type LlmOptions,
  type ToolContext,
} from '../../src/actors/llm/index.js';
import type { AgentDefinition } from '../../src/index.js';
import {
  type OpenAiTestServer,
  type OpenAiTestServerOptions,
  startOpenAiTestServer,
} from '../../src/testing/index.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Runs `fn` after the current test, last registered first. */
export function onCleanup(fn: () => Promise<unknown>): void {
  cleanups.push(fn);
}

export async function testServer(options: OpenAiTestServerOptions = {}): Promise<OpenAiTestServer> {
  const server = await startOpenAiTestServer(options);
  onCleanup(() => server.close());
  return server;
}

/** A client of the test server; no retries unless asked, so faults surface at once. */
export function testClient(server: OpenAiTestServer, options: LlmOptions = {}): LlmClient {
  return createLlmClient(
    { baseURL: server.url, apiKey: 'test-key', model: 'test-model', maxRetries: 0, ...options },
    {},
  );
}

export async function tempDir(prefix = 'troupe-llm-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The eight specialists with a trivial `run`: enough for planning. */
export function stubSpecialists(): AgentDefinition[] {
  return SPECIALIST_ROLES.map((role) => specialist(role, () => ({ role })));
}

/** A valid plan as the model would send it. */
export function searchPlan() {
  return {
    rationale: 'index first, then the API, then tests',
    tasks: [
      { id: 'index', agent: 'elasticsearch', description: 'Create the index.', dependsOn: [] },
      { id: 'api', agent: 'backend', description: 'Build POST /api/search.', dependsOn: ['index'] },
      { id: 'tests', agent: 'qa', description: 'Test the endpoint.', dependsOn: ['api'] },
    ],
  };
}

/** A tool context for calling tools directly; `usage` collects what they add. */
export function toolContext(): ToolContext & { usage: unknown[] } {
  const usage: unknown[] = [];
  return {
    signal: new AbortController().signal,
    idempotencyKey: 'wf-test:task',
    attempt: 1,
    turn: 1,
    addUsage: (u) => usage.push(u),
    usage,
  };
}
