/**
 * How the `troupe` command started a run, kept in the definition's metadata
 * (`metadata.cli`), so `troupe resume <id>` can build the same agents again:
 * the demo's agents over the same folder, the same agents module, or the same
 * model and workspace.
 */
import path from 'node:path';
import { z } from 'zod';
import { demoAgents } from '../actors/demo/demo-agents.js';
import { createLlmClient } from '../actors/llm/llm-client.js';
import { createLlmPlanner } from '../actors/llm/llm-planner.js';
import { specialists } from '../actors/llm/llm-specialists.js';
import type { McpToolsOptions } from '../actors/llm/mcp/mcp-server-options.js';
import type { McpToolset } from '../actors/llm/mcp/mcp-tools.js';
import type { LlmResponseCache } from '../actors/llm/response-cache.js';
import { StoreLlmResponseCache } from '../actors/llm/store-response-cache.js';
import { TroupeError } from '../errors.js';
import { createRuntime, type Runtime } from '../runtime/runtime.js';
import type { WorkflowDefinition } from '../schemas/workflow-definition.js';
import { inspectorOption } from './inspect-option.js';
import { importConfig, loadAgents } from './load-agents.js';
import { runtimeStore, type StoreLocation } from './store-location.js';

const launchSchema = z.discriminatedUnion('command', [
  z.object({
    command: z.literal('demo'),
    /** Absolute folder the demo reports on. */
    dir: z.string(),
    /** Absolute folder of the report. */
    out: z.string(),
  }),
  z.object({
    command: z.literal('run'),
    /** Absolute path of the agents module, when not in LLM mode or given with it. */
    agents: z.string().optional(),
    llm: z
      .object({
        model: z.string().optional(),
        baseURL: z.string().optional(),
        workspace: z.string(),
        allowCommands: z.array(z.string()),
        /** False with --no-cache: every model call is made again. */
        cache: z.boolean().optional(),
        /** Absolute path of the troupe.config.* whose `mcp` export gives the specialists MCP tools. */
        config: z.string().optional(),
      })
      .optional(),
  }),
]);

export type Launch = z.infer<typeof launchSchema>;

/** The definition with its launch recorded. */
export function withLaunch(definition: WorkflowDefinition, launch: Launch): WorkflowDefinition {
  return { ...definition, metadata: { ...definition.metadata, cli: launch } };
}

/** The launch recorded in a stored definition; undefined for a run started from code. */
export function launchOf(definition: WorkflowDefinition): Launch | undefined {
  const parsed = launchSchema.safeParse(definition.metadata.cli);
  return parsed.success ? parsed.data : undefined;
}

/** A runtime over the command's store with the agents of a launch. */
export async function runtimeFor(
  launch: Launch,
  options: { location: StoreLocation; inspect?: number | undefined },
): Promise<Runtime> {
  const common = { ...runtimeStore(options.location), ...inspectorOption(options.inspect) };
  if (launch.command === 'demo') {
    return createRuntime({
      ...common,
      agents: demoAgents({ root: launch.dir, outDir: launch.out }),
    });
  }
  const custom = launch.agents ? await loadAgents(launch.agents) : undefined;
  if (!launch.llm) {
    return createRuntime({ ...common, agents: custom ?? (await loadAgents(undefined)) });
  }
  const llm = createLlmClient({
    ...(launch.llm.model ? { model: launch.llm.model } : {}),
    ...(launch.llm.baseURL ? { baseURL: launch.llm.baseURL } : {}),
  });
  // Model answers are kept in the data folder, keyed by what was asked, so a
  // re-run (resumed, or started anew) does not pay for the steps it repeats.
  // The store exists once the runtime does; the planner is made before that.
  let stored: StoreLlmResponseCache | undefined;
  const cache: LlmResponseCache | undefined =
    launch.llm.cache === false
      ? undefined
      : {
          get: async (key) => stored?.get(key),
          put: async (key, response) => stored?.put(key, response),
        };
  const planner = createLlmPlanner({ llm, ...(cache ? { cache } : {}) });
  const rt = await createRuntime({ ...common, llm, planner, agents: custom ?? [] });
  if (cache) stored = new StoreLlmResponseCache(rt.store);
  if (!custom) {
    const workspace = path.resolve(launch.llm.workspace);
    const mcp = launch.llm.config ? await configMcpTools(launch.llm.config, rt) : undefined;
    for (const agent of specialists({
      llm,
      workspace,
      allowedCommands: launch.llm.allowCommands,
      ...(cache ? { cache } : {}),
      ...(mcp ? { extraTools: mcp.tools } : {}),
    })) {
      rt.registerAgent(agent);
    }
  }
  return rt;
}

/** MCP servers a command's runtime started, stopped by {@link closeRuntime}. */
const mcpOf = new WeakMap<Runtime, McpToolset>();

/** Closes a runtime made by {@link runtimeFor}, then the MCP servers its specialists used. */
export async function closeRuntime(rt: Runtime): Promise<void> {
  try {
    await rt.close();
  } finally {
    await mcpOf.get(rt)?.close();
  }
}

/**
 * Connects the MCP servers a config module lists in its `mcp` export (the
 * options of `mcpTools`), for every specialist. Without that export there are
 * none; a server that cannot be reached stops the command with `MCP_UNAVAILABLE`.
 */
async function configMcpTools(file: string, rt: Runtime): Promise<McpToolset | undefined> {
  const { mcp } = await importConfig(file);
  if (mcp === undefined) return undefined;
  const { mcpTools } = await import('../actors/llm/mcp/mcp-tools.js');
  try {
    const toolset = await mcpTools(mcp as McpToolsOptions);
    mcpOf.set(rt, toolset);
    return toolset;
  } catch (error) {
    await rt.close();
    if (error instanceof TroupeError && error.code === 'INVALID_INPUT') {
      throw new TroupeError(
        'CONFIG_ERROR',
        `${file}: the \`mcp\` export: ${error.message}`,
        {},
        { cause: error },
      );
    }
    throw error;
  }
}

/** The launch of a stored run, or `--agents` for a run started from code. */
export function resumeLaunch(
  definition: WorkflowDefinition,
  workflowId: string,
  agents: string | undefined,
): Launch {
  if (agents) return { command: 'run', agents: path.resolve(agents) };
  const launch = launchOf(definition);
  if (launch) return launch;
  throw new TroupeError(
    'CONFIG_ERROR',
    `Run ${workflowId} was not started by the troupe command, so which agents it needs is unknown. Pass them: troupe resume ${workflowId} --agents <module> (a module exporting the agents, see docs/cli.md), or resume it from your program with engine.recover("${workflowId}").`,
    { workflowId },
  );
}
