import type { WorkflowDefinitionInput } from '../../schemas/workflow-definition.js';
import { AGENT_STAGES, type AgentStage } from '../agents/define-agent.js';
import {
  type AgentProfile,
  PLANNED_RETRY,
  type Planner,
  type PlanRequest,
  planName,
} from './planner.js';
import { type Intent, mentions, type RequestWords, requestWords } from './request-words.js';

/** Stages whose agents change code; the rest verify or document it. */
const BUILD_STAGES: ReadonlySet<AgentStage> = new Set(['data', 'backend', 'frontend']);

interface Chosen {
  agent: AgentProfile;
  score: number;
  keywords: string[];
  /** Why this agent has a task, in a sentence. */
  rationale: string;
}

/**
 * A deterministic planner that needs no model.
 *
 * Words: the description and the requirements (keys and string values) are
 * split into words, stemmed ("APIs" is "api") and mapped through synonyms
 * ("endpoint" is "api", "documentation" is "docs"); see request-words.ts. An
 * agent scores one point per expertise keyword among them (a multi-word
 * keyword matches as a phrase).
 *
 * Intent: the verbs say what the request asks (build, refactor, document,
 * deploy, test, review; "write docs" documents, "write code" builds). Agents
 * that change code (stages data, backend, frontend) get tasks only when it
 * asks to build or refactor; otherwise "Write documentation for the search
 * API" would plan a re-implementation. Agents that verify or document get a
 * task when their keywords match. A build or refactor that names no area
 * goes to the generalist (a backend-stage agent whose expertise has
 * "backend"), and every code change gets the agent whose expertise has
 * "test" (QA). Each task's `input.rationale` says why it is there.
 *
 * Order: tasks are grouped by the agents' stage, in the order data -> backend
 * -> frontend -> verify -> docs. Each task depends on every task of the
 * nearest earlier stage that has one, so tasks within a stage run in
 * parallel and stages run in sequence. Within a stage: higher score first,
 * then role name in alphabetical order. If nothing at all matches, the plan
 * is a single task for the generalist (else the first agent by stage and
 * role), and the plan's metadata says that nothing matched.
 */
export const heuristicPlanner: Planner = {
  name: 'heuristic',
  async plan(request: PlanRequest): Promise<WorkflowDefinitionInput> {
    const words = requestWords(requestParts(request));
    const changesCode = words.intents.includes('build') || words.intents.includes('refactor');
    const chosen = request.agents
      .map((agent) => score(agent, words))
      .filter((entry) => entry.score > 0 && (changesCode || !BUILD_STAGES.has(entry.agent.stage)));
    const matched = chosen.length > 0;
    if (!matched) {
      const general = generalist(request.agents);
      if (general) {
        chosen.push({
          agent: general,
          score: 0,
          keywords: [],
          rationale: 'the request names no area an agent knows, so the generalist takes it',
        });
      }
    }
    if (changesCode && chosen.some((c) => BUILD_STAGES.has(c.agent.stage))) {
      const tester = request.agents.find((agent) => agent.expertise.includes('test'));
      if (tester && !chosen.some((c) => c.agent === tester)) {
        chosen.push({
          agent: tester,
          score: 0,
          keywords: [],
          rationale: 'the request changes code, and code changes get tests',
        });
      }
    }

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
    for (const { agent, keywords, rationale } of chosen) {
      if (agent.stage !== stage) {
        if (currentStage.length > 0) previousStage = currentStage;
        currentStage = [];
        stage = agent.stage;
      }
      tasks.push({
        id: agent.role,
        agent: agent.role,
        description: `${agent.displayName}: ${request.description}`,
        input: { requirements: request.requirements, matchedKeywords: keywords, rationale },
        dependsOn: previousStage,
      });
      currentStage.push(agent.role);
    }

    return {
      name: planName(request.description),
      description: request.description,
      tasks,
      defaults: { retry: PLANNED_RETRY },
      metadata: {
        planner: 'heuristic',
        intents: [...words.intents],
        rationale: chosen.map((c) => `${c.agent.role}: ${c.rationale}`).join('; '),
        ...(matched
          ? {}
          : { note: 'no agent expertise matched the request; assigned the generalist' }),
      },
    };
  },
};

function requestParts(request: PlanRequest): string[] {
  const parts = [request.description];
  for (const [key, value] of Object.entries(request.requirements)) {
    parts.push(key);
    if (typeof value === 'string') parts.push(value);
  }
  return parts;
}

function score(agent: AgentProfile, words: RequestWords): Chosen {
  const keywords = agent.expertise.filter((keyword) => mentions(words, keyword));
  const intent: Intent | undefined = BUILD_STAGES.has(agent.stage)
    ? words.intents.find((i) => i === 'build' || i === 'refactor')
    : undefined;
  return {
    agent,
    score: keywords.length,
    keywords,
    rationale: `the request mentions ${keywords.join(', ')}${intent ? ` and asks to ${intent}` : ''}`,
  };
}

/** Who takes a request that names no area: a backend-stage agent knowing "backend", else the first by stage and role. */
function generalist(agents: readonly AgentProfile[]): AgentProfile | undefined {
  const ordered = [...agents].sort(
    (a, b) => stageRank(a) - stageRank(b) || a.role.localeCompare(b.role),
  );
  return (
    ordered.find((a) => a.stage === 'backend' && a.expertise.includes('backend')) ?? ordered[0]
  );
}

function stageRank(agent: AgentProfile): number {
  return AGENT_STAGES.indexOf(agent.stage);
}
