/** `troupe run "<task>"`: plan with the registered agents (or an LLM), print the plan, run it. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TroupeError } from '../../errors.js';
import type { WorkflowDefinition } from '../../schemas/workflow-definition.js';
import { runWithProgress } from '../cli-io.js';
import {
  booleanOption,
  type Command,
  listOption,
  type OptionValues,
  stringOption,
  UsageError,
} from '../command.js';
import { EXIT } from '../exit-codes.js';
import { table } from '../format.js';
import {
  announceInspector,
  expandInspectFlag,
  INSPECT_OPTION,
  parseInspectPort,
} from '../inspect-option.js';
import type { Launch } from '../launch.js';

/** A launch of `troupe run`. */
type RunLaunch = Extract<Launch, { command: 'run' }>;

/** Options that only apply when an LLM is configured. */
const LLM_ONLY = ['workspace', 'allow-command', 'skip-preflight', 'no-cache'] as const;

export const run: Command = {
  name: 'run',
  summary: 'plan a task with your agents and run it',
  args: '"<task>"',
  positionals: { min: 0, max: Number.POSITIVE_INFINITY },
  options: {
    agents: {
      type: 'string',
      value: '<module>',
      description: 'module exporting the agents (default: troupe.config.js|mjs|ts)',
    },
    plan: {
      type: 'string',
      value: '<file>',
      description: 'a workflow definition (JSON) to run instead of planning',
    },
    requirements: {
      type: 'string',
      value: '<json>',
      description: 'requirements for the planner, as a JSON object',
    },
    'dry-run': { type: 'boolean', description: 'print the plan and stop' },
    model: {
      type: 'string',
      value: '<name>',
      description: 'plan and work with this LLM (or set TROUPE_MODEL)',
    },
    'base-url': {
      type: 'string',
      value: '<url>',
      description: 'OpenAI-compatible server (or OPENAI_BASE_URL; key: OPENAI_API_KEY)',
    },
    workspace: {
      type: 'string',
      value: '<dir>',
      description: "with an LLM: the specialists' folder (default: troupe-workspace)",
    },
    'allow-command': {
      type: 'string',
      multiple: true,
      value: '<program>',
      description: 'with an LLM: a program the specialists may run (repeatable)',
    },
    'no-cache': {
      type: 'boolean',
      description:
        'with an LLM: ask the model again instead of reusing answers kept in the data folder',
    },
    stream: {
      type: 'boolean',
      description:
        "print LLM agents' answers and tool calls as they are written (default: on a terminal, with --model)",
    },
    'no-stream': {
      type: 'boolean',
      description: "do not print LLM agents' answers as they are written",
    },
    'skip-preflight': {
      type: 'boolean',
      description: 'with an LLM: do not check the server and model before planning',
    },
    inspect: INSPECT_OPTION,
  },
  description:
    'Plans the task with the planner (or runs --plan), prints the plan, then runs it with live\nprogress. Agents come from --agents or troupe.config.js|mjs|ts; with a model configured, the\nLLM plans and eight LLM specialists work in --workspace.',
  examples: [
    'troupe run "Create a search API" --agents agents.mjs --dry-run',
    'troupe run --plan plan.json --agents agents.mjs --json',
  ],
  preprocess: expandInspectFlag,
  async run({ values, positionals }, ctx) {
    const task = positionals.join(' ').trim();
    const planFile = stringOption(values, 'plan');
    if (!task && !planFile) {
      throw new UsageError(
        'needs a task description, e.g. troupe run "Create a search API", or --plan <file>',
      );
    }
    const requirements = parseRequirements(stringOption(values, 'requirements'));
    const inspect = parseInspectPort(stringOption(values, 'inspect'));
    const [
      { llmRequested },
      { closeRuntime, runtimeFor, withLaunch },
      { validateDefinition },
      { agentsModule },
      llmReport,
    ] = await Promise.all([
      import('../../actors/llm/llm-client.js'),
      import('../launch.js'),
      import('../../schemas/validate.js'),
      import('../load-agents.js'),
      import('./run-llm.js'),
    ]);
    const model = stringOption(values, 'model');
    const baseURL = stringOption(values, 'base-url');
    const launch = launchFor(values, llmRequested({ model, baseURL }), agentsModule);
    const plan = planFile ? await readPlan(planFile) : undefined;
    const rt = await runtimeFor(launch, { location: ctx, inspect });
    try {
      announceInspector(rt, ctx.io);
      if (launch.llm && !booleanOption(values, 'skip-preflight')) {
        // A wrong URL or a model never pulled stops here, with the fix, not after a plan of failing tasks.
        const { checkLlmServer } = await import('../../actors/llm/preflight.js');
        await checkLlmServer(rt.options.llm!);
      }
      const roles = new Set(rt.profiles().map((p) => p.role));
      const definition = withLaunch(
        plan === undefined
          ? await rt.orchestrator.decomposeTask(task, requirements)
          : validateDefinition(plan, { roles }),
        launch,
      );
      if (ctx.json && booleanOption(values, 'dry-run')) {
        ctx.io.out.write(`${JSON.stringify(definition, null, 2)}\n`);
        return EXIT.ok;
      }
      if (!ctx.json) {
        ctx.io.out.write(
          launch.llm
            ? llmReport.llmHeader(rt, launch, definition)
            : `${describePlan(definition)}\n\n`,
        );
      }
      if (booleanOption(values, 'dry-run')) return EXIT.ok;
      // LLM agents see the user's request, the whole plan and the planner's
      // decisions, and record their own decisions beside them.
      const context = launch.llm && task ? await llmContext(task, definition) : {};
      const outcome = await runWithProgress(
        rt,
        definition,
        () => rt.engine.start(definition, { context }),
        ctx.io,
        { ...ctx, ...liveAnswersOption(values) },
      );
      if ('interrupted' in outcome) return outcome.exitCode;
      const { result } = outcome;
      if (ctx.json) ctx.io.out.write(`${JSON.stringify(result, null, 2)}\n`);
      else if (launch.llm) ctx.io.out.write(await llmReport.llmReport(rt, definition, result));
      return result.success ? EXIT.ok : EXIT.failed;
    } finally {
      await closeRuntime(rt);
    }
  },
};

/** How this run's agents are made, recorded so `troupe resume` makes the same ones. */
function launchFor(
  values: OptionValues,
  llm: boolean,
  agentsModule: (given: string | undefined) => string | undefined,
): RunLaunch {
  const given = stringOption(values, 'agents');
  if (!llm) {
    const misplaced = LLM_ONLY.find((name) => values[name] !== undefined);
    if (misplaced) {
      throw new UsageError(
        `--${misplaced} applies only with an LLM (--model, --base-url, TROUPE_MODEL or OPENAI_BASE_URL)`,
      );
    }
    const agents = agentsModule(given);
    return { command: 'run', ...(agents ? { agents } : {}) };
  }
  const model = stringOption(values, 'model');
  const baseURL = stringOption(values, 'base-url');
  const config = agentsModule(undefined);
  return {
    command: 'run',
    ...(given ? { agents: path.resolve(given) } : {}),
    llm: {
      ...(model ? { model } : {}),
      ...(baseURL ? { baseURL } : {}),
      workspace: path.resolve(stringOption(values, 'workspace') ?? 'troupe-workspace'),
      allowCommands: listOption(values, 'allow-command') ?? [],
      ...(booleanOption(values, 'no-cache') ? { cache: false } : {}),
      // The specialists take MCP servers from troupe.config.* (its `mcp` export).
      ...(!given && config ? { config } : {}),
    },
  };
}

/** `--stream` / `--no-stream`; neither: the default (on a terminal). */
function liveAnswersOption(values: OptionValues): { liveAnswers?: boolean } {
  if (booleanOption(values, 'stream') && booleanOption(values, 'no-stream')) {
    throw new UsageError('give --stream or --no-stream, not both');
  }
  if (booleanOption(values, 'no-stream')) return { liveAnswers: false };
  return booleanOption(values, 'stream') ? { liveAnswers: true } : {};
}

async function readPlan(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--plan ${file} cannot be read: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TroupeError(
      'INVALID_DEFINITION',
      `--plan ${file} is not valid JSON: ${(error as Error).message}`,
    );
  }
}

function parseRequirements(text: string | undefined): Record<string, unknown> {
  if (!text) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--requirements is not valid JSON: ${(error as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError('--requirements must be a JSON object, e.g. {"endpoint":"/api/search"}');
  }
  return value as Record<string, unknown>;
}

async function llmContext(
  request: string,
  definition: WorkflowDefinition,
): Promise<Record<string, unknown>> {
  const { PLANNED_DECISIONS_KEY, plannedDecisions } = await import(
    '../../actors/llm/tools/decisions.js'
  );
  const decisions = plannedDecisions(definition.metadata);
  return {
    request,
    plan: planLines(definition),
    ...(Object.keys(decisions).length > 0 ? { [PLANNED_DECISIONS_KEY]: decisions } : {}),
  };
}

function planLines(definition: WorkflowDefinition): string[] {
  return definition.tasks.map(
    (t) =>
      `${t.id} (${t.agent})${t.dependsOn.length > 0 ? ` after ${t.dependsOn.join(', ')}` : ''}: ${t.description}`,
  );
}

function describePlan(definition: WorkflowDefinition): string {
  const rows = definition.tasks.map((t) => [t.id, t.agent, t.dependsOn.join(', ') || '-']);
  return `Plan "${definition.name}" (${definition.tasks.length} tasks):\n${table(['task', 'agent', 'after'], rows)}`;
}
