export type {
  McpHttpServerOptions,
  McpServerOptions,
  McpStdioServerOptions,
  McpToolsOptions,
} from './mcp-server-options.js';
export { mcpToolName } from './mcp-tool.js';
export { type McpToolset, mcpTools } from './mcp-tools.js';
