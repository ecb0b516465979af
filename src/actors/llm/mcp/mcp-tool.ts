import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type {
  JsonSchemaType,
  jsonSchemaValidator,
} from '@modelcontextprotocol/sdk/validation/types.js';
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import type { LlmTool, ToolOutcome } from '../define-tool.js';
import { parseToolArguments } from '../tool-arguments.js';

/** Joins server and tool names; two underscores, so a `_` in either stays readable. */
export const MCP_NAME_SEPARATOR = '__';
const MAX_NAME = 64;

/** The name the model calls an MCP tool by: `server__tool`, with characters OpenAI refuses turned into `_`. */
export function mcpToolName(server: string, tool: string): string {
  return `${server}${MCP_NAME_SEPARATOR}${tool}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, MAX_NAME);
}

/**
 * One tool of an MCP server as a troupe tool: the model sees its JSON Schema,
 * arguments are checked against that schema before the server is called, and
 * the result comes back as text (or the structured content as JSON). Every
 * failure (bad arguments, an error result, a dead server, a timeout) becomes a
 * tool error for the model; only the task's own abort is thrown.
 */
export function mcpTool(
  serverName: string,
  client: Client,
  tool: Tool,
  callTimeoutMs: number,
  needsApproval: boolean,
  validators: jsonSchemaValidator,
): LlmTool {
  const name = mcpToolName(serverName, tool.name);
  const description =
    tool.description?.trim() || tool.title || `${tool.name} from MCP server ${serverName}`;
  const { $schema: _dialect, ...parameters } = tool.inputSchema as Record<string, unknown>;
  const validate = validators.getValidator<Record<string, unknown>>(parameters as JsonSchemaType);
  const spec: ChatCompletionFunctionTool = {
    type: 'function',
    function: { name, description, parameters },
  };
  const call: LlmTool['call'] = async (argumentsJson, ctx): Promise<ToolOutcome> => {
    const raw = parseToolArguments(name, argumentsJson);
    if (!raw.ok) return raw;
    const checked = validate(raw.value);
    if (!checked.valid) {
      return {
        ok: false,
        error: `${name}: input rejected by the tool's schema: ${checked.errorMessage}`,
      };
    }
    // The SDK leaves its abort listener on the signal it gets; one signal per
    // call keeps the task's signal from collecting one listener per tool call.
    const thisCall = new AbortController();
    const abort = () => thisCall.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', abort, { once: true });
    try {
      const result = (await client.callTool(
        { name: tool.name, arguments: checked.data },
        undefined,
        { signal: thisCall.signal, timeout: callTimeoutMs },
      )) as CallToolResult;
      const content = resultContent(result);
      return result.isError
        ? {
            ok: false,
            error: `${name} failed: ${typeof content === 'string' ? content : JSON.stringify(content)}`,
          }
        : { ok: true, result: content };
    } catch (error) {
      if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, error: `${name} failed (MCP server "${serverName}"): ${message}` };
    } finally {
      ctx.signal.removeEventListener('abort', abort);
    }
  };
  return { name, description, spec, call, ...(needsApproval ? { needsApproval: true } : {}) };
}

/**
 * What the model reads of a result: the structured content when the tool
 * gives one, else its text parts joined; parts a text model cannot read
 * (images, audio) are described, not dropped silently.
 */
function resultContent(result: CallToolResult): unknown {
  if (result.structuredContent !== undefined && !result.isError) return result.structuredContent;
  const parts = (result.content ?? []).map((part) => {
    switch (part.type) {
      case 'text':
        return part.text;
      case 'resource':
        return 'text' in part.resource ? part.resource.text : `[resource ${part.resource.uri}]`;
      case 'resource_link':
        return `[resource ${part.uri}]`;
      default:
        return `[${part.type} content (${part.mimeType}) not shown to the model]`;
    }
  });
  return parts.join('\n');
}
