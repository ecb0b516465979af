/**
 * What one `troupe` command is: its name, its arguments and options (for the
 * parser and for its `--help`), and what it does. Each command lives in its
 * own file under `commands/` and is listed once in `commands/index.ts`.
 *
 * Invariant: a command file imports only light modules at the top (node
 * builtins, the CLI helpers, types); the runtime, XState, LevelDB and the LLM
 * client are imported inside `run`, so `troupe --help` loads none of them.
 */
import type { CliIo } from './cli-io.js';
import type { StoreLocation } from './store-location.js';

/** One option of a command, as `node:util` parseArgs takes it, plus its help text. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** The value's placeholder in help, e.g. `<dir>`. */
  value?: string;
  description: string;
}

/** Parsed option values, by option name. */
export type OptionValues = {
  readonly [name: string]: string | boolean | (string | boolean)[] | undefined;
};

/** What every command gets besides its own arguments: where the runs are, and how to print. */
export interface CommandContext extends StoreLocation {
  io: CliIo;
  /** `--json`: machine-readable output on stdout, errors as `{ "error": { code, message } }`. */
  json: boolean;
  /** Whether stdout gets ANSI colours (see `colour.ts`). */
  colour: boolean;
}

export interface CommandInput {
  values: OptionValues;
  positionals: string[];
}

export interface Command {
  name: string;
  /** One line for the global help. */
  summary: string;
  /** The arguments after the name, for usage lines, e.g. `<runId>`. */
  args: string;
  /** How many positional arguments the command takes. */
  positionals: { min: number; max: number };
  /** The command's own options; `--data-dir`, `--database-url`, `--json` and `--help` are common to all. */
  options: Readonly<Record<string, OptionSpec>>;
  /** Paragraphs for `troupe <name> --help`, after the usage line. */
  description: string;
  /** Example command lines for `--help` (each one is run by a test). */
  examples: readonly string[];
  /** Rewrites argv before parsing (e.g. a bare `--inspect` gets its default port). */
  preprocess?: (argv: readonly string[]) => string[];
  /** @returns the exit code; throws `UsageError` for bad usage, `TroupeError` for the rest. */
  run(input: CommandInput, ctx: CommandContext): Promise<number>;
}

/** Options every command takes. */
export const COMMON_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'data-dir': {
    type: 'string',
    value: '<dir>',
    description: 'where runs are stored (default: .troupe)',
  },
  'database-url': {
    type: 'string',
    value: '<url>',
    description:
      'keep runs in this PostgreSQL database instead (default: env TROUPE_DATABASE_URL unless --data-dir is given)',
  },
  json: { type: 'boolean', description: 'machine-readable output on stdout' },
  help: { type: 'boolean', short: 'h', description: 'this help' },
};

/** Bad usage: exit code 2, with the command's usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Typed readers of parsed option values. */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function booleanOption(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

export function listOption(values: OptionValues, name: string): string[] | undefined {
  const value = values[name];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined;
}
