import type { ResponseFormatJSONSchema } from 'openai/resources/shared';
import { z } from 'zod';
import { formatZodIssues, validateDefinition } from '../../schemas/validate.js';
import type {
  WorkflowDefinition,
  WorkflowDefinitionInput,
} from '../../schemas/workflow-definition.js';
import type { PlanRequest } from '../planners/planner.js';

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
  });
}
export type LlmPlan = z.infer<ReturnType<typeof planSchema>>;

/** The `response_format` asking for a plan of that schema. */
export function planResponseFormat(
  schema: ReturnType<typeof planSchema>,
): ResponseFormatJSONSchema {
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
  'Answer with JSON only, matching the given schema.',
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
 * Parses and checks the model's answer: JSON, then the plan schema, then the
 * workflow rules (`validateDefinition`: unknown roles, dangling ids, cycles).
 * The issues are written for the model, which gets them back to repair its plan.
 */
export function checkPlan(
  content: string | null,
  schema: ReturnType<typeof planSchema>,
  request: PlanRequest,
  metadata: Record<string, unknown>,
): PlanCheck {
  let raw: unknown;
  try {
    raw = JSON.parse(stripFences(content ?? ''));
  } catch (error) {
    return { ok: false, issues: [`the answer is not valid JSON (${(error as Error).message})`] };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: formatZodIssues(parsed.error) };
  const input = toDefinition(parsed.data, request, metadata);
  try {
    const roles = new Set(request.agents.map((a) => a.role));
    return { ok: true, plan: parsed.data, definition: validateDefinition(input, { roles }) };
  } catch (error) {
    const issues = (error as { context?: { issues?: unknown } }).context?.issues;
    return {
      ok: false,
      issues: Array.isArray(issues) ? issues.map(String) : [(error as Error).message],
    };
  }
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
    metadata: { ...metadata, rationale: plan.rationale },
  };
}

/**
 * The heuristic planner's naming rule, repeated: the evaluator compares runs
 * by workflow name, so the same request must get the same name whichever
 * planner (or fallback) made the plan.
 */
export function planName(description: string): string {
  const slug = description
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return slug.slice(0, 80) || 'workflow';
}

/** Models without structured output often wrap JSON in a Markdown fence. */
function stripFences(text: string): string {
  const match = /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/.exec(text);
  return match ? match[1]! : text;
}
