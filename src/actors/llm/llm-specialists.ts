import type { AgentDefinition } from '../agents/define-agent.js';
import {
  SPECIALIST_PRESETS,
  SPECIALIST_ROLES,
  type SpecialistRole,
} from '../agents/specialists.js';
import { defineLlmAgent, type LlmAgentOutput } from './define-llm-agent.js';
import type { LlmTool } from './define-tool.js';
import { type LlmClient, type LlmOptions, toLlmClient } from './llm-client.js';
import type { LlmResponseCache } from './response-cache.js';
import { collaborationTools } from './tools/collaboration.js';
import { workspaceTools } from './tools/index.js';
import { Workspace, type WorkspaceOptions } from './tools/workspace.js';

/** Options of {@link specialists}. */
export interface LlmSpecialistsOptions {
  /** The server every specialist uses. */
  llm: LlmOptions | LlmClient;
  /** The folder their tools work in (a path, options, or a shared Workspace); created on first use. */
  workspace: string | WorkspaceOptions | Workspace;
  /** Which specialists to make. @default all eight */
  roles?: readonly SpecialistRole[];
  /** Programs `run_command` may start; shorthand for the workspace option. @default none: no run_command */
  allowedCommands?: readonly string[];
  /** Response cache shared by all of them (see StoreLlmResponseCache). @default none */
  cache?: LlmResponseCache;
  /** Most model calls per task attempt. @default 10 */
  maxTurns?: number;
  /** More tools for every specialist, after the built-in ones. @default [] */
  extraTools?: readonly LlmTool[];
}

/** Roles whose work includes vector search, so they also get `generate_embeddings`. */
const EMBEDDING_ROLES: ReadonlySet<SpecialistRole> = new Set(['ai', 'elasticsearch']);

const TOOL_GUIDE =
  'You have tools for the workspace: paths are relative to its root, and nothing outside it can be reached. ' +
  'Read what is there before you change it, and write your deliverables as files. ' +
  'Other specialists work on the same request, some at the same time: read the decisions in the shared context first and follow them, ' +
  'record each decision others must follow (stack, file paths, interfaces) with record_decision, tell another role what it needs with send_message, and ask it with ask_role when you cannot go on without its answer. ' +
  'Files another agent is writing are locked: write elsewhere, or wait for them with lock_path. ' +
  'When you are done, answer without calling a tool: say what you produced (with file paths) and what is left.';

/**
 * The eight specialists of the seed (backend, elasticsearch, ai, frontend,
 * devops, qa, security, docs) as LLM agents: their preset prompts, expertise
 * and stages, with the workspace tools (read_file, write_file, list_files,
 * search_files; run_command when commands are allowed; generate_embeddings
 * for ai and elasticsearch).
 *
 * @throws TroupeError `CONFIG_ERROR` if the LLM cannot be configured.
 */
export function specialists(options: LlmSpecialistsOptions): AgentDefinition<LlmAgentOutput>[] {
  const llm = toLlmClient(options.llm);
  const workspace = toWorkspace(options.workspace, options.allowedCommands);
  const base = workspaceTools(workspace);
  const withEmbeddings = workspaceTools(workspace, { embeddings: llm });
  const teamTools = collaborationTools();
  return (options.roles ?? SPECIALIST_ROLES).map((role) => {
    const preset = SPECIALIST_PRESETS[role];
    return defineLlmAgent({
      ...preset,
      systemPrompt: `${preset.systemPrompt}\n\n${TOOL_GUIDE}`,
      llm,
      tools: [
        ...(EMBEDDING_ROLES.has(role) ? withEmbeddings : base),
        ...teamTools,
        ...(options.extraTools ?? []),
      ],
      ...(options.cache ? { cache: options.cache } : {}),
      ...(options.maxTurns === undefined ? {} : { maxTurns: options.maxTurns }),
    });
  });
}

function toWorkspace(
  given: string | WorkspaceOptions | Workspace,
  allowedCommands: readonly string[] | undefined,
): Workspace {
  if (given instanceof Workspace) {
    return allowedCommands ? new Workspace({ ...given.options, allowedCommands }) : given;
  }
  const options = typeof given === 'string' ? { root: given } : given;
  return new Workspace(allowedCommands ? { ...options, allowedCommands } : options);
}
