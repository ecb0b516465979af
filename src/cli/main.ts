#!/usr/bin/env node
/**
 * The `troupe` command: finds the command in the registry, parses its
 * arguments, runs it, and turns errors into messages and exit codes
 * (see docs/cli.md). Loads nothing heavy itself: each command imports the
 * runtime when it runs.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TroupeError } from '../errors.js';
import type { CliIo } from './cli-io.js';
import { colourEnabled } from './colour.js';
import { type Command, UsageError } from './command.js';
import { COMMANDS } from './commands/index.js';
import { EXIT } from './exit-codes.js';
import { parseCommand } from './parse.js';
import { storeLocationOf } from './store-location.js';
import { commandUsage, globalUsage, usageHint } from './usage.js';
import { packageVersion } from './version.js';

/** Parses argv and runs a command; returns the exit code. Never throws. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  // Until parsed; then the parsed switch (a command may give `--json` another meaning, see signal).
  let json = argv.includes('--json');
  let command: Command | undefined;
  try {
    if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help')) {
      io.out.write(globalUsage(COMMANDS));
      return EXIT.ok;
    }
    if (argv.length === 1 && argv[0] === '--version') {
      io.out.write(`${packageVersion()}\n`);
      return EXIT.ok;
    }
    const at = commandIndex(argv);
    if (at === -1) throw new UsageError('no command given');
    command = COMMANDS.find((c) => c.name === argv[at]);
    if (!command) throw new UsageError(`unknown command "${argv[at]}"`);
    const input = parseCommand(command, [...argv.slice(0, at), ...argv.slice(at + 1)]);
    if (input.values.help === true) {
      io.out.write(commandUsage(command));
      return EXIT.ok;
    }
    json = input.values.json === true;
    return await command.run(input, {
      io,
      json,
      ...storeLocationOf(input.values),
      colour: colourEnabled(io.out),
    });
  } catch (error) {
    return report(error, io, json, command);
  }
}

/** Where the command name is: the first argument that is neither an option nor the value of `--data-dir` or `--database-url`. */
export function commandIndex(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--data-dir' || arg === '--database-url') i++;
    else if (!arg.startsWith('-')) return i;
  }
  return -1;
}

function report(error: unknown, io: CliIo, json: boolean, command: Command | undefined): number {
  const usage = error instanceof UsageError;
  const code = usage ? 'USAGE' : error instanceof TroupeError ? error.code : 'ERROR';
  const message = error instanceof Error ? error.message : String(error);
  if (json) {
    io.out.write(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
  } else {
    const prefix = command ? `troupe ${command.name}` : 'troupe';
    const tag = error instanceof TroupeError ? ` [${code}]` : '';
    io.err.write(`${prefix}: ${message}${tag}\n${usage ? usageHint(command) : ''}`);
  }
  return usage ? EXIT.usage : EXIT.failed;
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
  const argv = process.argv.slice(2);
  // Shown by `ps`, and recorded as the holder of a data folder (owner.json),
  // so a second troupe command can say which command holds the folder.
  process.title = `troupe ${argv[commandIndex(argv)] ?? ''}`.trimEnd();
  main(argv, { out: process.stdout, err: process.stderr }).then((code) => {
    process.exitCode = code;
    // Interrupted: work that ignores its abort signal must not keep the process up.
    if (code === EXIT.interrupted || code === EXIT.terminated) process.exit(code);
  });
}
