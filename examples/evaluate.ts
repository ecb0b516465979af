/**
 * The workflow evaluator on its own: six runs of one workflow, built by hand
 * (no agents, no LLM), evaluated into an in-memory history. The last run is
 * twice as slow and had a flaky task; the evaluator grades it, says which task
 * and agent to look at, and flags the regression against the five before it.
 *
 *   npx tsx examples/evaluate.ts
 */
import { formatEvaluationReport } from '../src/actors/evaluator/report.js';
import { WorkflowEvaluator } from '../src/runtime/evaluator/workflow-evaluator.js';
import {
  type WorkflowDefinition,
  workflowDefinitionSchema,
} from '../src/schemas/workflow-definition.js';
import type { TaskResult, WorkflowResult } from '../src/schemas/workflow-result.js';
import { MemoryStore } from '../src/store/memory/memory-store.js';

const definition: WorkflowDefinition = workflowDefinitionSchema.parse({
  name: 'release-notes',
  tasks: [
    { id: 'collect', agent: 'researcher' },
    { id: 'summarise', agent: 'writer', dependsOn: ['collect'], timeoutMs: 5_000 },
    { id: 'review', agent: 'reviewer', dependsOn: ['summarise'] },
  ],
});

/** One run: each task's duration in ms, and how many attempts `summarise` needed. */
function run(
  index: number,
  durations: [number, number, number],
  summariseAttempts = 1,
): WorkflowResult {
  const startedAt = Date.UTC(2025, 0, 1 + index, 6);
  const tasks: Record<string, TaskResult> = {};
  let at = startedAt;
  definition.tasks.forEach((task, i) => {
    const duration = durations[i]!;
    tasks[task.id] = {
      taskId: task.id,
      agent: task.agent,
      status: 'completed',
      attempts: task.id === 'summarise' ? summariseAttempts : 1,
      startedAt: at,
      finishedAt: at + duration,
    };
    at += duration;
  });
  return {
    workflowId: `release-notes-${index + 1}`,
    name: definition.name,
    status: 'completed',
    success: true,
    tasks,
    totalExecutionTime: at - startedAt,
    startedAt,
    finishedAt: at,
    context: {},
  };
}

const history: WorkflowResult[] = [
  run(0, [400, 2_100, 500]),
  run(1, [420, 2_000, 480]),
  run(2, [390, 2_200, 510]),
  run(3, [410, 2_050, 490]),
  run(4, [405, 2_150, 500]),
  run(5, [400, 4_600, 1_000], 2),
];

const store = new MemoryStore();
const evaluator = new WorkflowEvaluator({ store });

let latest = await evaluator.evaluateWorkflow(history[0]!, { definition });
for (const result of history.slice(1)) {
  latest = await evaluator.evaluateWorkflow(result, { definition });
}
const regression = await evaluator.detectRegression(latest, { baselineCount: 5 });
const trend = await evaluator.history(definition.name);

process.stdout.write(formatEvaluationReport(latest, { regression, trend }));
process.stdout.write(
  `\nregressionDetected=${regression.regressionDetected} metrics=${regression.details.map((d) => d.metric).join(',')}\n`,
);
await store.close();
