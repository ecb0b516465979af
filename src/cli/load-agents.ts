import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type AgentDefinition,
  type AgentOptions,
  defineAgent,
} from '../actors/agents/define-agent.js';
import { TroupeError } from '../errors.js';

/** What troupe reads from a config module: its agents, and MCP servers for the LLM specialists. */
export interface ConfigExports {
  default?: unknown;
  agents?: unknown;
  mcp?: unknown;
}

const CONFIG_NAMES = ['troupe.config.js', 'troupe.config.mjs', 'troupe.config.ts'];

/** The agents module to use: the one given, else a troupe.config.* in the working directory. */
export function agentsModule(modulePath: string | undefined): string | undefined {
  return modulePath
    ? path.resolve(modulePath)
    : CONFIG_NAMES.map((n) => path.resolve(n)).find((p) => existsSync(p));
}

/**
 * Loads agents from a module whose default export (or `agents` export) is an
 * array of agents, made with `defineAgent` or as plain options.
 */
export async function loadAgents(modulePath: string | undefined): Promise<AgentDefinition[]> {
  const file = agentsModule(modulePath);
  if (!file) {
    throw new TroupeError(
      'CONFIG_ERROR',
      `No agents: create ${CONFIG_NAMES.join(' or ')} exporting an array of agents (see docs/cli.md), or pass --agents <module>.`,
    );
  }
  const loaded = await importConfig(file);
  const exported = loaded.agents ?? loaded.default;
  const list = Array.isArray(exported)
    ? exported
    : (exported as { agents?: unknown } | undefined)?.agents;
  if (!Array.isArray(list) || list.length === 0) {
    throw new TroupeError(
      'CONFIG_ERROR',
      `${file} must export a non-empty array of agents (default export or \`agents\`).`,
    );
  }
  return list.map((agent) => defineAgent(agent as AgentOptions));
}

/** The exports of an agents module or troupe.config.*, with the fix when it cannot be loaded. */
export async function importConfig(file: string): Promise<ConfigExports> {
  try {
    return await import(pathToFileURL(file).href);
  } catch (error) {
    // Node 20 cannot import TypeScript by itself.
    const hint =
      file.endsWith('.ts') && (error as { code?: string }).code === 'ERR_UNKNOWN_FILE_EXTENSION'
        ? ' A .ts config needs tsx: run `npm run troupe -- run ...` or use a .js config.'
        : '';
    const message = error instanceof Error ? error.message : String(error);
    throw new TroupeError(
      'CONFIG_ERROR',
      `Could not load ${file}: ${message}.${hint}`,
      {},
      { cause: error },
    );
  }
}
