import type { ResponseFormatJSONObject, ResponseFormatJSONSchema } from 'openai/resources/shared';
import { z } from 'zod';
import { formatZodIssues, validateDefinition } from '../../schemas/validate.js';
import type {
  WorkflowDefinition,
  WorkflowDefinitionInput,
} from '../../schemas/workflow-definition.js';
import { PLANNED_RETRY, type PlanRequest, planName } from '../planners/planner.js';
import { findJson, isRecord, withoutReasoning } from './json-in-text.js';

/**
 * What the model is asked for: only what it must decide (the tasks, who does
 * each, in what order). Ids, the workflow name, inputs and retry settings are
 * filled in by the planner. Every field is required and no keyword beyond
 * `enum` is used, so the schema suits OpenAI's strict structured outputs.
 */
export function planSchema(roles: readonly [string, ...string[]]) {
  return z.object({
    rationale: z.string().describe('One or two sentences on how the work is split and ordered.'),
    tasks: z.array(
      z.object({
        id: z
          .string()
          .describe('Short unique id: letters, digits, "-" or "_", e.g. "search-index".'),
        agent: z
          .enum(roles, {
            error: (issue) =>
              issue.input === undefined
                ? `required: one of ${roles.join(', ')}`
                : `unknown agent role ${JSON.stringify(issue.input)}; known roles: ${roles.join(', ')}`,
          })
          .describe('Role of the agent that does this task.'),
        description: z
          .string()
          .describe('What the agent must do and deliver, concretely, in a few sentences.'),
        dependsOn: z
          .array(z.string())
          .describe('Ids of the tasks whose results this task needs; [] if none.'),
      }),
    ),
    decisions: z
      .array(
        z.object({
          topic: z.string().describe('What is decided, e.g. "api.port" or "search.index".'),
          decision: z.string().describe('The choice, concretely.'),
        }),
      )
      .describe(
        'Choices every agent must follow so their work fits together (stack, file paths, interfaces, ports); [] if none.',
      ),
  });
}
export type LlmPlan = z.infer<ReturnType<typeof planSchema>>;

/**
 * How the planner asks for JSON, strictest first: a JSON schema (structured
 * output), JSON mode, or only the instructions in the prompt. A server that
 * answers 400 to one is asked with the next.
 */
export const PLAN_FORMATS = ['json_schema', 'json_object', 'instructions'] as const;
export type PlanFormat = (typeof PLAN_FORMATS)[number];

/** The `response_format` of a request in that mode, if any. */
export function planResponseFormat(
  schema: ReturnType<typeof planSchema>,
  format: PlanFormat = 'json_schema',
): ResponseFormatJSONSchema | ResponseFormatJSONObject | undefined {
  if (format === 'instructions') return undefined;
  if (format === 'json_object') return { type: 'json_object' };
  const { $schema: _dialect, ...jsonSchema } = z.toJSONSchema(schema);
  return {
    type: 'json_schema',
    json_schema: { name: 'workflow_plan', strict: true, schema: jsonSchema },
  };
}

export const PLANNER_SYSTEM_PROMPT = [
  'You plan software work for a team of specialist agents.',
  'Split the task into a few concrete tasks, each for one of the listed agents, and order them with dependsOn.',
  'Rules:',
  '- Use only the agent roles listed; not every agent needs a task.',
  '- Task ids are unique and use only letters, digits, "-" and "_".',
  '- dependsOn names only ids of other tasks in the plan, and there are no cycles.',
  '- Tasks that do not need each other have no dependency, so they run in parallel.',
  '- Each description says exactly what to deliver, so the agent can work from it alone.',
  '- decisions lists the choices all agents must share (stack, file paths, interfaces, ports), so agents working in parallel agree.',
  'Answer with JSON only, no prose, of this shape:',
  '{"rationale": "...", "tasks": [{"id": "...", "agent": "<role>", "description": "...", "dependsOn": ["<id of an earlier task>"]}], "decisions": [{"topic": "...", "decision": "..."}]}',
].join('\n');

export function planPrompt(request: PlanRequest): string {
  const agents = request.agents.map(
    (a) =>
      `- ${a.role} (${a.displayName}; stage ${a.stage}): ${a.expertise.join(', ') || 'general'}`,
  );
  return [
    `Task: ${request.description}`,
    '',
    'Requirements:',
    Object.keys(request.requirements).length > 0
      ? JSON.stringify(request.requirements, null, 2)
      : '(none given)',
    '',
    'Agents:',
    ...agents,
  ].join('\n');
}

export type PlanCheck =
  | { ok: true; definition: WorkflowDefinition; plan: LlmPlan }
  | { ok: false; issues: string[] };

/**
 * Parses and checks the model's answer: finds the JSON (also in a fence,
 * after prose or a `<think>` block), forgives harmless slips (see
 * {@link coercePlan}), then checks the plan schema and the workflow rules
 * (`validateDefinition`: unknown roles, dangling ids, cycles). The issues are
 * written for the model, which gets them back to repair its plan.
 */
export function checkPlan(
  content: string | null,
  schema: ReturnType<typeof planSchema>,
  request: PlanRequest,
  metadata: Record<string, unknown>,
): PlanCheck {
  const text = content ?? '';
  if (withoutReasoning(text) === '') {
    return { ok: false, issues: ['the answer was empty; answer with the plan as a JSON object'] };
  }
  const found = findJson(text);
  const json = found.find((f) => isRecord(f.value) && 'tasks' in f.value) ?? found[0];
  if (!json) return { ok: false, issues: [noJsonIssue(text)] };
  const roles = request.agents.map((a) => a.role);
  const parsed = schema.safeParse(coercePlan(json.value, roles));
  if (!parsed.success) return { ok: false, issues: formatZodIssues(parsed.error) };
  const input = toDefinition(parsed.data, request, metadata);
  try {
    return {
      ok: true,
      plan: parsed.data,
      definition: validateDefinition(input, { roles: new Set(roles) }),
    };
  } catch (error) {
    const issues = (error as { context?: { issues?: unknown } }).context?.issues;
    return {
      ok: false,
      issues: Array.isArray(issues) ? issues.map(String) : [(error as Error).message],
    };
  }
}

/** The answer holds no parseable JSON: say whether it is prose, or JSON that is broken or cut short. */
function noJsonIssue(text: string): string {
  const visible = withoutReasoning(text);
  const start = visible.search(/[{[]/);
  if (start === -1) {
    return 'the answer is prose with no JSON in it (not valid JSON); answer with only the JSON plan, no text before or after it';
  }
  try {
    JSON.parse(visible.slice(start).replace(/```\s*$/, ''));
    return 'the answer is not valid JSON';
  } catch (error) {
    return `the JSON in the answer is not valid JSON or is incomplete (${(error as Error).message}); answer with the whole plan as one complete JSON object`;
  }
}

/**
 * Fixes slips that leave no doubt about what the model meant, so they cost
 * no repair round: a bare array of tasks or a `{ plan: {...} }` wrapper,
 * numeric task ids and dependencies, a missing or single-string `dependsOn`,
 * a missing rationale, missing decisions or decisions as an object, and an
 * agent role in the wrong case.
 */
export function coercePlan(raw: unknown, roles: readonly string[]): unknown {
  let plan = Array.isArray(raw) ? { tasks: raw } : raw;
  if (isRecord(plan) && !('tasks' in plan) && isRecord(plan.plan)) plan = plan.plan;
  if (!isRecord(plan) || !Array.isArray(plan.tasks)) return plan;
  const byLower = new Map(roles.map((role) => [role.toLowerCase(), role]));
  return {
    ...plan,
    rationale: typeof plan.rationale === 'string' ? plan.rationale : '',
    decisions: coerceDecisions(plan.decisions),
    tasks: plan.tasks.map((task: unknown) => {
      if (!isRecord(task)) return task;
      const dependsOn = task.dependsOn ?? task.depends_on ?? [];
      const agent =
        typeof task.agent === 'string'
          ? (byLower.get(task.agent.trim().toLowerCase()) ?? task.agent)
          : task.agent;
      return {
        ...task,
        id: typeof task.id === 'number' ? String(task.id) : task.id,
        agent,
        dependsOn: (Array.isArray(dependsOn) ? dependsOn : [dependsOn]).map((dep: unknown) =>
          typeof dep === 'number' ? String(dep) : dep,
        ),
      };
    }),
  };
}

/** No decisions, or `{ topic: decision }` instead of a list, mean what they say. */
function coerceDecisions(raw: unknown): unknown {
  if (raw === undefined || raw === null) return [];
  if (!isRecord(raw) || Array.isArray(raw)) return raw;
  return Object.entries(raw).map(([topic, decision]) => ({
    topic,
    decision: typeof decision === 'string' ? decision : JSON.stringify(decision),
  }));
}

function toDefinition(
  plan: LlmPlan,
  request: PlanRequest,
  metadata: Record<string, unknown>,
): WorkflowDefinitionInput {
  return {
    name: planName(request.description),
    description: request.description,
    tasks: plan.tasks.map((task) => ({
      id: task.id,
      agent: task.agent,
      description: task.description,
      input: { requirements: request.requirements },
      dependsOn: task.dependsOn,
    })),
    defaults: { retry: PLANNED_RETRY },
    metadata: {
      ...metadata,
      rationale: plan.rationale,
      ...(plan.decisions.length > 0
        ? { decisions: Object.fromEntries(plan.decisions.map((d) => [d.topic, d.decision])) }
        : {}),
    },
  };
}
