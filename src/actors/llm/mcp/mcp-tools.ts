import type { jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import { TroupeError } from '../../../errors.js';
import { formatZodIssues } from '../../../schemas/validate.js';
import type { LlmTool } from '../define-tool.js';
import { connectMcpServer, type McpConnection } from './connect-mcp-server.js';
import { type McpToolsOptions, mcpToolsSchema } from './mcp-server-options.js';
import { mcpTool } from './mcp-tool.js';

/** The tools of connected MCP servers; close it when the agents that use them are done. */
export interface McpToolset extends AsyncDisposable {
  /** Every server's tools, named `server__tool`; pass them to `defineLlmAgent({ tools })`. */
  readonly tools: readonly LlmTool[];
  /** The troupe names of each server's tools, by server name. */
  readonly servers: ReadonlyMap<string, readonly string[]>;
  /** Closes every connection and stops the servers troupe started. Safe to call twice. */
  close(): Promise<void>;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_CALL_TIMEOUT_MS = 60_000;

/**
 * Connects to MCP servers (starting the stdio ones) and turns each server's
 * tools into troupe tools for LLM agents. Calls go through the agent's tool
 * loop like built-in tools: arguments validated first, recorded in the
 * task's `toolCalls`, errors sent back to the model.
 *
 * @throws TroupeError `INVALID_INPUT` for bad options; `MCP_UNAVAILABLE` when a
 * server cannot be started or reached (the servers already connected are closed);
 * `INVALID_DEFINITION` when two tools end up with the same name.
 */
export async function mcpTools(options: McpToolsOptions): Promise<McpToolset> {
  const parsed = mcpToolsSchema.safeParse(options);
  if (!parsed.success) {
    const issues = formatZodIssues(parsed.error);
    throw new TroupeError('INVALID_INPUT', `mcpTools: ${issues.join('; ')}`, { issues });
  }
  const { servers } = parsed.data;
  const connectTimeoutMs = parsed.data.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const callTimeoutMs = parsed.data.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const settled = await Promise.allSettled(
    servers.map((server) => connectMcpServer(server, connectTimeoutMs)),
  );
  const connections = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const closeAll = async () => {
    await Promise.allSettled(connections.map((c) => c.close()));
  };
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) {
    await closeAll();
    throw failed.reason;
  }
  // Loaded here, not at import, like the SDK in connectMcpServer.
  const { AjvJsonSchemaValidator } = await import('@modelcontextprotocol/sdk/validation/ajv');
  const validators = new AjvJsonSchemaValidator();
  const tools: LlmTool[] = [];
  const byServer = new Map<string, string[]>();
  for (const connection of connections) {
    const names = adapt(connection, callTimeoutMs, validators, tools);
    byServer.set(connection.server.name, names);
  }
  const duplicate = tools.find((tool, i) => tools.findIndex((t) => t.name === tool.name) !== i);
  if (duplicate) {
    await closeAll();
    throw new TroupeError(
      'INVALID_DEFINITION',
      `mcpTools: two MCP tools are both named "${duplicate.name}" once made safe for the model. Rename one on its server, or give the servers names that keep them apart.`,
      { tool: duplicate.name },
    );
  }
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= closeAll();
    return closing;
  };
  return { tools, servers: byServer, close, [Symbol.asyncDispose]: close };
}

function adapt(
  connection: McpConnection,
  callTimeoutMs: number,
  validators: jsonSchemaValidator,
  into: LlmTool[],
): string[] {
  const asks = connection.server.needsApproval ?? false;
  const adapted = connection.tools.map((tool) =>
    mcpTool(
      connection.server.name,
      connection.client,
      tool,
      callTimeoutMs,
      asks === true || (Array.isArray(asks) && asks.includes(tool.name)),
      validators,
    ),
  );
  into.push(...adapted);
  return adapted.map((tool) => tool.name);
}
