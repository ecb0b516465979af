import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type AgentDefinition,
  type AgentOptions,
  defineAgent,
} from '../../actors/agents/define-agent.js';
import { llmRequested } from '../../actors/llm/llm-client.js';
import { TroupeError } from '../../errors.js';
import { createRuntime } from '../../runtime/runtime.js';
import { validateDefinition } from '../../schemas/validate.js';
import type { WorkflowDefinition } from '../../schemas/workflow-definition.js';
import { type CliIo, runWithProgress } from '../cli-io.js';
import { table } from '../format.js';
import { announceInspector, inspectorOption } from '../inspect-option.js';
import { runLlmCommand } from './run-llm.js';

export interface RunArgs {
  task: string;
  /** Module exporting the agents; default: troupe.config.(js|mjs|ts) in the working directory. */
  agents?: string;
  /** A workflow definition (JSON file) to run instead of planning one. */
  plan?: string;
  /** JSON object of requirements for the planner. */
  requirements: Record<string, unknown>;
  dataDir: string | false;
  json: boolean;
  /** Print the plan and stop. */
  dryRun: boolean;
  /** LLM mode (with `baseURL`, or TROUPE_MODEL / OPENAI_BASE_URL set): the chat model. */
  model?: string;
  /** LLM mode: the OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1. */
  baseURL?: string;
  /** LLM mode: the specialists' workspace folder. @default ./troupe-workspace */
  workspace?: string;
  /** LLM mode: programs the specialists may run. @default none */
  allowCommands?: string[];
  /** Serve the live inspector on this port (0: any free one) while the run goes on. */
  inspect?: number;
}

const CONFIG_NAMES = ['troupe.config.js', 'troupe.config.mjs', 'troupe.config.ts'];

/** `troupe run "<task>"`: plan with the registered agents, print the plan, run it. */
export async function runCommand(args: RunArgs, io: CliIo): Promise<number> {
  if (llmRequested(args)) return runLlmCommand(args, io, loadAgents);
  const agents = await loadAgents(args.agents);
  const rt = await createRuntime({
    dataDir: args.dataDir,
    agents,
    ...inspectorOption(args.inspect),
  });
  try {
    announceInspector(rt, io);
    const definition = args.plan
      ? validateDefinition(JSON.parse(await readFile(args.plan, 'utf8')), {
          roles: new Set(agents.map((a) => a.role)),
        })
      : await rt.orchestrator.decomposeTask(args.task, args.requirements);
    if (args.json && args.dryRun) {
      io.out.write(`${JSON.stringify(definition, null, 2)}\n`);
      return 0;
    }
    if (!args.json) io.out.write(`${describePlan(definition)}\n\n`);
    if (args.dryRun) return 0;
    const result = await runWithProgress(rt, definition, io, { json: args.json });
    if (args.json) io.out.write(`${JSON.stringify(result, null, 2)}\n`);
    return result.success ? 0 : 1;
  } finally {
    await rt.close();
  }
}

function describePlan(definition: WorkflowDefinition): string {
  const rows = definition.tasks.map((t) => [t.id, t.agent, t.dependsOn.join(', ') || '-']);
  return `Plan "${definition.name}" (${definition.tasks.length} tasks):\n${table(['task', 'agent', 'after'], rows)}`;
}

/**
 * Loads agents from a module whose default export (or `agents` export) is an
 * array of agents, made with `defineAgent` or as plain options.
 */
export async function loadAgents(modulePath: string | undefined): Promise<AgentDefinition[]> {
  const file = modulePath
    ? path.resolve(modulePath)
    : CONFIG_NAMES.map((n) => path.resolve(n)).find((p) => existsSync(p));
  if (!file) {
    throw new TroupeError(
      'CONFIG_ERROR',
      `No agents: create ${CONFIG_NAMES.join(' or ')} exporting an array of agents (see docs/cli.md), or pass --agents <module>.`,
    );
  }
  let loaded: { default?: unknown; agents?: unknown };
  try {
    loaded = await import(pathToFileURL(file).href);
  } catch (error) {
    // Node 20 cannot import TypeScript by itself.
    const hint =
      file.endsWith('.ts') && (error as { code?: string }).code === 'ERR_UNKNOWN_FILE_EXTENSION'
        ? ' A .ts config needs tsx: run `npm run troupe -- run ...` or use a .js config.'
        : '';
    const message = error instanceof Error ? error.message : String(error);
    throw new TroupeError(
      'CONFIG_ERROR',
      `Could not load agents from ${file}: ${message}.${hint}`,
      {},
      { cause: error },
    );
  }
  const exported = loaded.agents ?? loaded.default;
  const list = Array.isArray(exported)
    ? exported
    : (exported as { agents?: unknown } | undefined)?.agents;
  if (!Array.isArray(list) || list.length === 0) {
    throw new TroupeError(
      'CONFIG_ERROR',
      `${file} must export a non-empty array of agents (default export or \`agents\`).`,
    );
  }
  return list.map((agent) => defineAgent(agent as AgentOptions));
}
