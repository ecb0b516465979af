import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AgentDefinition } from '../../actors/agents/define-agent.js';
import { formatEvaluationReport } from '../../actors/evaluator/report.js';
import { createLlmClient } from '../../actors/llm/llm-client.js';
import { specialists } from '../../actors/llm/llm-specialists.js';
import { StoreLlmResponseCache } from '../../actors/llm/store-response-cache.js';
import { addUsage, reportedUsage, type TokenUsage, usageOf } from '../../actors/llm/token-usage.js';
import { WorkflowEvaluator } from '../../runtime/evaluator/workflow-evaluator.js';
import { createRuntime } from '../../runtime/runtime.js';
import { validateDefinition } from '../../schemas/validate.js';
import type { WorkflowDefinition } from '../../schemas/workflow-definition.js';
import { type CliIo, runWithProgress } from '../cli-io.js';
import { table, truncate } from '../format.js';
import { announceInspector, inspectorOption } from '../inspect-option.js';

/** What `troupe run` passes when an LLM is configured (see `llmRequested`). */
export interface LlmRunArgs {
  task: string;
  requirements: Record<string, unknown>;
  dataDir: string | false;
  json: boolean;
  dryRun: boolean;
  /** Module exporting the agents; without it the eight LLM specialists work in the workspace. */
  agents?: string;
  plan?: string;
  model?: string;
  baseURL?: string;
  /** Folder the specialists' tools work in. @default ./troupe-workspace */
  workspace?: string;
  /** Serve the live inspector on this port (0: any free one) while the run goes on. */
  inspect?: number;
  /** Programs the specialists' run_command may start. @default none */
  allowCommands?: readonly string[];
}

/**
 * `troupe run "<task>"` with a model: the LLM planner plans (falling back to
 * the heuristic planner, which the plan header then says), the specialists do
 * the work in the workspace with live progress, and the run ends with token
 * usage and the evaluation report. Model answers are kept in the data folder,
 * keyed by task and turn, so a re-run of an interrupted task does not pay twice.
 */
export async function runLlmCommand(
  args: LlmRunArgs,
  io: CliIo,
  loadAgents: (module: string | undefined) => Promise<AgentDefinition[]>,
): Promise<number> {
  const llm = createLlmClient({
    ...(args.model ? { model: args.model } : {}),
    ...(args.baseURL ? { baseURL: args.baseURL } : {}),
  });
  const custom = args.agents ? await loadAgents(args.agents) : undefined;
  const rt = await createRuntime({
    dataDir: args.dataDir,
    llm,
    agents: custom ?? [],
    ...inspectorOption(args.inspect),
  });
  announceInspector(rt, io);
  try {
    const workspace = path.resolve(args.workspace ?? 'troupe-workspace');
    if (!custom) {
      const cache = new StoreLlmResponseCache(rt.store);
      const allowedCommands = args.allowCommands ?? [];
      for (const agent of specialists({ llm, workspace, allowedCommands, cache })) {
        rt.registerAgent(agent);
      }
    }
    const roles = new Set(rt.profiles().map((p) => p.role));
    const definition = args.plan
      ? validateDefinition(JSON.parse(await readFile(args.plan, 'utf8')), { roles })
      : await rt.orchestrator.decomposeTask(args.task, args.requirements);
    if (args.json && args.dryRun) {
      io.out.write(`${JSON.stringify(definition, null, 2)}\n`);
      return 0;
    }
    if (!args.json) {
      io.out.write(`Model ${llm.model} at ${llm.baseURL}\n`);
      if (!custom) io.out.write(`Workspace ${workspace}\n`);
      io.out.write(`\n${describePlan(definition)}\n\n`);
    }
    if (args.dryRun) return 0;
    const result = await runWithProgress(rt, definition, io, { json: args.json });
    if (args.json) {
      io.out.write(`${JSON.stringify(result, null, 2)}\n`);
      return result.success ? 0 : 1;
    }
    io.out.write(`\n${answers(result)}${usageTable(result, reportedUsage(definition.metadata))}\n`);
    const evaluation = await new WorkflowEvaluator({ store: rt.store }).evaluateWorkflow(result, {
      definition,
    });
    io.out.write(`\n${formatEvaluationReport(evaluation)}`);
    return result.success ? 0 : 1;
  } finally {
    await rt.close();
  }
}

function describePlan(definition: WorkflowDefinition): string {
  const meta = definition.metadata;
  const by =
    meta.fallback !== undefined
      ? `the ${String(meta.fallback)} planner: the LLM planner gave up (${truncate(String(meta.reason ?? ''), 200)})`
      : meta.planner === 'llm'
        ? `the LLM planner (${String(meta.attempts)} answer(s))`
        : `the ${String(meta.planner ?? 'given')} plan`;
  const rows = definition.tasks.map((t) => [
    t.id,
    t.agent,
    t.dependsOn.join(', ') || '-',
    truncate(t.description.replace(/\s+/g, ' '), 70),
  ]);
  const rationale = typeof meta.rationale === 'string' ? `\n${meta.rationale}` : '';
  return `Plan "${definition.name}" (${definition.tasks.length} tasks) by ${by}:${rationale}\n${table(['task', 'agent', 'after', 'what'], rows)}`;
}

/** Each agent's final answer, cut short: the full text is in the stored result. */
function answers(result: Parameters<typeof usageOf>[0]): string {
  const lines: string[] = [];
  for (const [id, task] of Object.entries(result.tasks)) {
    const content = (task.output as { content?: unknown } | undefined)?.content;
    if (typeof content === 'string' && content.trim() !== '') {
      lines.push(`  ${id}: ${truncate(content.replace(/\s+/g, ' ').trim(), 300)}`);
    }
  }
  return lines.length > 0 ? `Answers\n${lines.join('\n')}\n\n` : '';
}

function usageTable(
  result: Parameters<typeof usageOf>[0],
  planUsage: TokenUsage | undefined,
): string {
  const usage = usageOf(result);
  const row = (name: string, u: TokenUsage) => [
    name,
    String(u.requests),
    String(u.cached),
    String(u.promptTokens),
    String(u.completionTokens),
    String(u.totalTokens),
  ];
  const rows = Object.entries(usage.byTask).map(([id, u]) => row(id, u));
  const total = planUsage ? addUsage(usage, planUsage) : usage;
  if (planUsage) rows.unshift(row('(plan)', planUsage));
  rows.push(row('total', total));
  return `Token usage\n${table(['task', 'calls', 'cached', 'prompt', 'completion', 'total'], rows)}`;
}
