import type { WorkflowDefinitionInput } from '../../schemas/workflow-definition.js';
import { AGENT_STAGES } from '../agents/define-agent.js';
import { type AgentProfile, PLANNED_RETRY, type Planner, type PlanRequest } from './planner.js';

/**
 * A deterministic planner that needs no model.
 *
 * Scoring: the description and the requirements (keys and string values) are
 * split into lowercase words; an agent scores one point per expertise keyword
 * found among them (a multi-word keyword matches as a phrase). Every agent
 * with a score above zero gets one task.
 *
 * Order: tasks are grouped by the agents' stage, in the order data -> backend
 * -> frontend -> verify -> docs. Each task depends on every task of the
 * nearest earlier stage that has one, so tasks within a stage run in
 * parallel and stages run in sequence.
 *
 * Tie rule: within a stage, higher score first, then role name in
 * alphabetical order. If no agent scores, the plan is a single task for the
 * agent that comes first by (stage, role name), and the plan's metadata says
 * that nothing matched.
 */
export const heuristicPlanner: Planner = {
  name: 'heuristic',
  async plan(request: PlanRequest): Promise<WorkflowDefinitionInput> {
    const text = requestText(request);
    const words = new Set(text.split(' '));
    const scored = request.agents
      .map((agent) => ({ agent, ...score(agent, words, text) }))
      .filter((entry) => entry.score > 0);
    const matched = scored.length > 0;
    const chosen = matched ? scored : fallback(request.agents);

    chosen.sort(
      (a, b) =>
        stageRank(a.agent) - stageRank(b.agent) ||
        b.score - a.score ||
        a.agent.role.localeCompare(b.agent.role),
    );

    const tasks: NonNullable<WorkflowDefinitionInput['tasks']> = [];
    let previousStage: string[] = [];
    let currentStage: string[] = [];
    let stage: string | undefined;
    for (const { agent, keywords } of chosen) {
      if (agent.stage !== stage) {
        if (currentStage.length > 0) previousStage = currentStage;
        currentStage = [];
        stage = agent.stage;
      }
      tasks.push({
        id: agent.role,
        agent: agent.role,
        description: `${agent.displayName}: ${request.description}`,
        input: { requirements: request.requirements, matchedKeywords: keywords },
        dependsOn: previousStage,
      });
      currentStage.push(agent.role);
    }

    return {
      name: workflowName(request.description),
      description: request.description,
      tasks,
      defaults: { retry: PLANNED_RETRY },
      metadata: {
        planner: 'heuristic',
        ...(matched
          ? {}
          : { note: 'no agent expertise matched the request; assigned the first agent' }),
      },
    };
  },
};

function requestText(request: PlanRequest): string {
  const parts = [request.description];
  for (const [key, value] of Object.entries(request.requirements)) {
    parts.push(key);
    if (typeof value === 'string') parts.push(value);
  }
  return ` ${parts
    .join(' ')
    .toLowerCase()
    .replace(/[^a-z0-9.+#]+/g, ' ')
    .trim()} `;
}

function score(agent: AgentProfile, words: ReadonlySet<string>, text: string) {
  const keywords = agent.expertise.filter((keyword) =>
    keyword.includes(' ') ? text.includes(` ${keyword} `) : words.has(keyword),
  );
  return { score: keywords.length, keywords };
}

function fallback(agents: readonly AgentProfile[]) {
  const first = [...agents].sort(
    (a, b) => stageRank(a) - stageRank(b) || a.role.localeCompare(b.role),
  )[0];
  return first ? [{ agent: first, score: 0, keywords: [] as string[] }] : [];
}

function stageRank(agent: AgentProfile): number {
  return AGENT_STAGES.indexOf(agent.stage);
}

/** A stable, readable name: runs of the same request compare in the evaluator. */
function workflowName(description: string): string {
  const slug = description
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return slug.slice(0, 80) || 'workflow';
}
