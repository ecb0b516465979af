import type { Readable } from 'node:stream';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { TroupeError } from '../../../errors.js';
import type { McpServerOptions } from './mcp-server-options.js';

/** A live connection to one MCP server and the tools it listed. */
export interface McpConnection {
  readonly server: McpServerOptions;
  readonly client: Client;
  readonly tools: readonly Tool[];
  close(): Promise<void>;
}

/** The server's last stderr output kept for error messages: enough for a stack trace's head. */
const STDERR_TAIL_CHARS = 2000;

/**
 * Starts (stdio) or reaches (HTTP) one MCP server, does the handshake and
 * lists its tools (following pagination).
 * @throws TroupeError `MCP_UNAVAILABLE` naming the server, what failed and the fix; nothing is left running.
 */
export async function connectMcpServer(
  server: McpServerOptions,
  timeoutMs: number,
): Promise<McpConnection> {
  // The SDK is loaded here, not at import: it costs more start-up time than
  // the rest of troupe, and most programs never connect to an MCP server.
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const client = new Client({ name: 'troupe', version: '1' });
  let stderr = '';
  let transport: Transport;
  if ('command' in server) {
    const { getDefaultEnvironment, StdioClientTransport } = await import(
      '@modelcontextprotocol/sdk/client/stdio.js'
    );
    const stdio = new StdioClientTransport({
      command: server.command,
      args: [...(server.args ?? [])],
      env: { ...getDefaultEnvironment(), ...server.env },
      ...(server.cwd === undefined ? {} : { cwd: server.cwd }),
      stderr: 'pipe',
    });
    (stdio.stderr as Readable | null)?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
    });
    transport = stdio;
  } else {
    const { StreamableHTTPClientTransport } = await import(
      '@modelcontextprotocol/sdk/client/streamableHttp.js'
    );
    transport = new StreamableHTTPClientTransport(new URL(server.url));
  }
  try {
    await client.connect(transport, { timeout: timeoutMs });
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor }, {
        timeout: timeoutMs,
      });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return { server, client, tools, close: () => client.close() };
  } catch (error) {
    await client.close().catch(() => undefined);
    throw unavailable(server, error, stderr.trim());
  }
}

function unavailable(server: McpServerOptions, error: unknown, stderr: string): TroupeError {
  const cause = error instanceof Error ? error.message : String(error);
  const where =
    'command' in server
      ? `started with \`${[server.command, ...(server.args ?? [])].join(' ')}\``
      : `at ${server.url}`;
  const fix =
    'command' in server
      ? 'Check that the command runs by itself in a terminal (installed, right path, right arguments) and speaks MCP on stdin/stdout (not logging to stdout).'
      : 'Check that the server is running and that the URL is its streamable HTTP endpoint (often ending in /mcp).';
  const printed = stderr === '' ? '' : ` The server printed: ${stderr}`;
  return new TroupeError(
    'MCP_UNAVAILABLE',
    `mcpTools: could not connect to MCP server "${server.name}" ${where}: ${cause}.${printed} ${fix}`,
    {
      server: server.name,
      transport: 'command' in server ? 'stdio' : 'http',
      ...(stderr === '' ? {} : { stderr }),
    },
    { cause: error },
  );
}
