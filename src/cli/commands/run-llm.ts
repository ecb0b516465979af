/**
 * What `troupe run` prints in LLM mode: the model and the plan (with who
 * planned it) before the run, then each agent's answer, token usage and the
 * evaluation report after it.
 */
import { formatEvaluationReport } from '../../actors/evaluator/report.js';
import { addUsage, reportedUsage, type TokenUsage, usageOf } from '../../actors/llm/token-usage.js';
import { WorkflowEvaluator } from '../../runtime/evaluator/workflow-evaluator.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { WorkflowDefinition } from '../../schemas/workflow-definition.js';
import type { WorkflowResult } from '../../schemas/workflow-result.js';
import { table, truncate } from '../format.js';
import type { Launch } from '../launch.js';

export function llmHeader(rt: Runtime, launch: Launch, definition: WorkflowDefinition): string {
  const llm = rt.options.llm!;
  const workspace =
    launch.command === 'run' && launch.llm && !launch.agents
      ? `Workspace ${launch.llm.workspace}\n`
      : '';
  return `Model ${llm.model} at ${llm.baseURL}\n${workspace}\n${describePlan(definition)}\n\n`;
}

export async function llmReport(
  rt: Runtime,
  definition: WorkflowDefinition,
  result: WorkflowResult,
): Promise<string> {
  const evaluation = await new WorkflowEvaluator({ store: rt.store }).evaluateWorkflow(result, {
    definition,
  });
  return `\n${answers(result)}${usageTable(result, reportedUsage(definition.metadata))}\n\n${formatEvaluationReport(evaluation)}`;
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
function answers(result: WorkflowResult): string {
  const lines: string[] = [];
  for (const [id, task] of Object.entries(result.tasks)) {
    const content = (task.output as { content?: unknown } | undefined)?.content;
    if (typeof content === 'string' && content.trim() !== '') {
      lines.push(`  ${id}: ${truncate(content.replace(/\s+/g, ' ').trim(), 300)}`);
    }
  }
  return lines.length > 0 ? `Answers\n${lines.join('\n')}\n\n` : '';
}

function usageTable(result: WorkflowResult, planUsage: TokenUsage | undefined): string {
  const usage = usageOf(result);
  const row = (name: string, u: TokenUsage) => [
    name,
    String(u.requests),
    String(u.cached),
    String(u.promptTokens),
    String(u.completionTokens),
    String(u.totalTokens),
  ];
  const headers = ['calls', 'cached', 'prompt', 'completion', 'total'];
  const rows = Object.entries(usage.byTask).map(([id, u]) => row(id, u));
  const total = planUsage ? addUsage(usage, planUsage) : usage;
  if (planUsage) rows.unshift(row('(plan)', planUsage));
  rows.push(row('total', total));
  const agents = Object.entries(usage.byAgent).map(([role, u]) => row(role, u));
  const estimated =
    total.estimated > 0
      ? `\n${total.estimated} call(s) estimated at 4 characters a token: the server sent no usage.`
      : '';
  return `Token usage\n${table(['task', ...headers], rows)}\n\nBy agent\n${table(['agent', ...headers], agents)}${estimated}`;
}
