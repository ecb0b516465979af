import type { LlmTool } from '../define-tool.js';
import type { LlmClient } from '../llm-client.js';
import { generateEmbeddingsTool } from './generate-embeddings.js';
import { listFilesTool } from './list-files.js';
import { lockPathTool } from './path-lock.js';
import { readFileTool } from './read-file.js';
import { runCommandTool } from './run-command.js';
import { searchFilesTool } from './search-files.js';
import { Workspace, type WorkspaceOptions } from './workspace.js';
import { writeFileTool } from './write-file.js';

export { generateEmbeddingsTool } from './generate-embeddings.js';
export { listFilesTool } from './list-files.js';
export { lockPathTool, pathLockKey } from './path-lock.js';
export { readFileTool } from './read-file.js';
export { type CommandResult, runCommandTool } from './run-command.js';
export { searchFilesTool } from './search-files.js';
export {
  type PathRefusal,
  type ResolvedWorkspaceOptions,
  Workspace,
  type WorkspaceOptions,
  type WorkspacePath,
} from './workspace.js';
export { writeFileTool } from './write-file.js';

/** Options of `workspaceTools`. */
export interface WorkspaceToolsOptions {
  /** Adds `generate_embeddings` through this client. @default no embeddings tool */
  embeddings?: LlmClient;
}

/**
 * The built-in tools over one workspace: read_file, write_file, list_files,
 * search_files, lock_path, run_command when the workspace allows some commands, and
 * generate_embeddings when a client is given.
 */
export function workspaceTools(
  workspace: Workspace | WorkspaceOptions | string,
  options: WorkspaceToolsOptions = {},
): LlmTool[] {
  const ws = workspace instanceof Workspace ? workspace : new Workspace(workspace);
  const tools = [
    readFileTool(ws),
    writeFileTool(ws),
    listFilesTool(ws),
    searchFilesTool(ws),
    lockPathTool(ws),
  ];
  if (ws.options.allowedCommands.length > 0) tools.push(runCommandTool(ws));
  if (options.embeddings) tools.push(generateEmbeddingsTool(options.embeddings, ws));
  return tools;
}
