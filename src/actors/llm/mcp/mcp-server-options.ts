import { z } from 'zod';

/** A server troupe starts as a child process and talks to over its stdin/stdout. */
export interface McpStdioServerOptions {
  /** Prefix of the server's tool names (`docs` gives `docs__search`): 1-30 letters, digits, `_` or `-`. */
  name: string;
  /** Program to start, e.g. `node` or `npx`. */
  command: string;
  /** Its arguments. @default [] */
  args?: readonly string[];
  /** Variables added to a minimal environment (PATH, HOME, ...); the rest of troupe's environment is not passed on. @default none */
  env?: Readonly<Record<string, string>>;
  /** Working directory of the server. @default troupe's working directory */
  cwd?: string;
  /**
   * Calls of this server's tools wait for a person's approval (see
   * `defineLlmAgent({ approvals })`): `true` for every tool, or the tools'
   * names on the server (`search`, not `docs__search`).
   * @default false
   */
  needsApproval?: boolean | readonly string[];
}

/** A server that is already running and speaks the streamable HTTP transport. */
export interface McpHttpServerOptions {
  /** Prefix of the server's tool names (`docs` gives `docs__search`): 1-30 letters, digits, `_` or `-`. */
  name: string;
  /** Its MCP endpoint, e.g. `http://127.0.0.1:3001/mcp`. */
  url: string;
  /**
   * Calls of this server's tools wait for a person's approval (see
   * `defineLlmAgent({ approvals })`): `true` for every tool, or the tools'
   * names on the server (`search`, not `docs__search`).
   * @default false
   */
  needsApproval?: boolean | readonly string[];
}

/** One MCP server: started by troupe (`command`) or reached over HTTP (`url`). */
export type McpServerOptions = McpStdioServerOptions | McpHttpServerOptions;

const needsApproval = z.union([z.boolean(), z.array(z.string().min(1))]).optional();

const serverName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,30}$/, 'must be 1-30 letters, digits, _ or -');

export const mcpServerSchema = z.union([
  z.strictObject({
    name: serverName,
    command: z.string().min(1, 'must name the program to start'),
    args: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().min(1).optional(),
    needsApproval,
  }),
  z.strictObject({
    name: serverName,
    url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
    needsApproval,
  }),
]);

/** Options of {@link mcpTools}. */
export interface McpToolsOptions {
  /** The servers whose tools the agent gets; their names must differ. */
  servers: readonly McpServerOptions[];
  /** How long connecting to one server (start and handshake) may take. @default 10000 */
  connectTimeoutMs?: number;
  /** How long one tool call may take before it returns an error to the model. @default 60000 */
  callTimeoutMs?: number;
}

export const mcpToolsSchema = z.strictObject({
  servers: z
    .array(mcpServerSchema)
    .min(1, 'list at least one server')
    .refine((servers) => new Set(servers.map((s) => s.name)).size === servers.length, {
      message: 'two servers have the same name',
    }),
  connectTimeoutMs: z.int().min(1).optional(),
  callTimeoutMs: z.int().min(1).optional(),
});
