/**
 * Parses one command's arguments with `node:util` parseArgs in strict mode:
 * an unknown option, an option of another command, a missing value or a
 * surplus argument is a {@link UsageError} (exit code 2).
 */
import { parseArgs } from 'node:util';
import { COMMON_OPTIONS, type Command, type CommandInput, UsageError } from './command.js';

export function parseCommand(command: Command, argv: readonly string[]): CommandInput {
  const args = command.preprocess ? command.preprocess(argv) : [...argv];
  let parsed: CommandInput;
  try {
    const { values, positionals } = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: { ...COMMON_OPTIONS, ...command.options },
    });
    parsed = { values, positionals };
  } catch (error) {
    throw new UsageError(cleanParseMessage((error as Error).message));
  }
  const { min, max } = command.positionals;
  const count = parsed.positionals.length;
  if (count > max) {
    const extra = parsed.positionals
      .slice(max)
      .map((p) => `"${p}"`)
      .join(', ');
    throw new UsageError(
      `takes ${max === 0 ? 'no arguments' : `at most ${max} argument${max === 1 ? '' : 's'}`}; unexpected ${extra}`,
    );
  }
  if (count < min && parsed.values.help !== true) {
    throw new UsageError(`needs ${command.args}`);
  }
  return parsed;
}

/** Node's messages end with advice for script authors ("To specify a positional argument..."). */
function cleanParseMessage(message: string): string {
  return message
    .replace(/\. To specify a positional argument.*$/s, '')
    .replace(/^Unknown option/, 'unknown option');
}
