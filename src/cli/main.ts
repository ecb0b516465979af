#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TroupeError } from '../errors.js';
import { LevelStore } from '../store/level/level-store.js';
import type { CliIo } from './cli-io.js';
import { demoCommand } from './commands/demo.js';
import { evalCommand } from './commands/eval.js';
import { runCommand } from './commands/run.js';
import { listCommand, showCommand } from './commands/runs.js';
import { expandInspectFlag, parseInspectPort } from './inspect-option.js';

const USAGE = `troupe — durable multi-agent workflows

Usage:
  troupe demo [dir]          run the offline demo over a folder (default: .)
  troupe run "<task>"        plan a task with your agents and run it
  troupe list                list stored runs
  troupe show <runId>        show one stored run
  troupe eval <runId>        evaluate a stored run, with its trend

Options:
  --data-dir <dir>   where runs are stored (default: .troupe)
  --json             machine-readable output
  --out <dir>        demo: where the report is written (default: troupe-report)
  --agents <module>  run: module exporting the agents (default: troupe.config.js|mjs|ts)
  --plan <file>      run: a workflow definition (JSON) to run instead of planning
  --requirements <json>  run: requirements for the planner, as a JSON object
  --dry-run          run: print the plan and stop
  --model <name>     run: plan and work with this LLM (or set TROUPE_MODEL)
  --base-url <url>   run: OpenAI-compatible server (or OPENAI_BASE_URL; key: OPENAI_API_KEY)
  --workspace <dir>  run with an LLM: the specialists' folder (default: troupe-workspace)
  --allow-command <program>  run with an LLM: a program the specialists may run (repeatable)
  --inspect[=port]   demo, run: serve the live inspector (default port 7420, 0: any free port)
  -h, --help         this help
`;

/** Parses argv and runs a command; returns the exit code. Never throws. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.err.write(`troupe: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    io.out.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const json = values.json ?? false;
  const dataDir = values['data-dir'] ?? '.troupe';
  try {
    const inspectPort = parseInspectPort(values.inspect);
    const inspect = inspectPort === undefined ? {} : { inspect: inspectPort };
    switch (command) {
      case 'demo':
        return await demoCommand(
          { dir: rest[0] ?? '.', outDir: values.out ?? 'troupe-report', dataDir, json, ...inspect },
          io,
        );
      case 'run': {
        const task = rest.join(' ').trim();
        if (!task && !values.plan)
          return usage(io, 'run needs a task description, e.g. troupe run "Create a search API"');
        return await runCommand(
          {
            task,
            requirements: parseRequirements(values.requirements),
            dataDir,
            json,
            dryRun: values['dry-run'] ?? false,
            ...(values.agents ? { agents: values.agents } : {}),
            ...(values.plan ? { plan: values.plan } : {}),
            ...(values.model ? { model: values.model } : {}),
            ...(values['base-url'] ? { baseURL: values['base-url'] } : {}),
            ...(values.workspace ? { workspace: values.workspace } : {}),
            ...(values['allow-command'] ? { allowCommands: values['allow-command'] } : {}),
            ...inspect,
          },
          io,
        );
      }
      case 'list':
        return await withStore(dataDir, (store) => listCommand({ json }, store, io));
      case 'show':
        if (!rest[0]) return usage(io, 'show needs a run id (see troupe list)');
        return await withStore(dataDir, (store) =>
          showCommand({ runId: rest[0]!, json }, store, io),
        );
      case 'eval':
        if (!rest[0]) return usage(io, 'eval needs a run id (see troupe list)');
        return await withStore(dataDir, (store) =>
          evalCommand({ runId: rest[0]!, json }, { store, out: io.out, err: io.err }),
        );
      default:
        return usage(io, `unknown command "${command}"`);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof TroupeError ? ` [${error.code}]` : '';
    io.err.write(`troupe ${command}: ${message}${code}\n`);
    return 1;
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: expandInspectFlag(argv),
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      'data-dir': { type: 'string' },
      out: { type: 'string' },
      agents: { type: 'string' },
      plan: { type: 'string' },
      requirements: { type: 'string' },
      'dry-run': { type: 'boolean' },
      model: { type: 'string' },
      'base-url': { type: 'string' },
      workspace: { type: 'string' },
      'allow-command': { type: 'string', multiple: true },
      inspect: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function parseRequirements(text: string | undefined): Record<string, unknown> {
  if (!text) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TroupeError(
      'INVALID_INPUT',
      `--requirements is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new TroupeError(
      'INVALID_INPUT',
      '--requirements must be a JSON object, e.g. {"endpoint":"/api/search"}',
    );
  }
  return value as Record<string, unknown>;
}

async function withStore(
  dataDir: string,
  use: (store: LevelStore) => Promise<number>,
): Promise<number> {
  const store = await LevelStore.open(dataDir);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

function usage(io: CliIo, message: string): number {
  io.err.write(`troupe: ${message}\n\n${USAGE}`);
  return 2;
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2), { out: process.stdout, err: process.stderr }).then((code) => {
    process.exitCode = code;
  });
}
