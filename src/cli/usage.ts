/** The one place that formats help and usage text, global and per command. */
import { COMMON_OPTIONS, type Command, type OptionSpec } from './command.js';

/** `troupe --help`: every command with its summary, and the common options. */
export function globalUsage(commands: readonly Command[]): string {
  const lines = commands.map((c) => [`troupe ${c.name} ${c.args}`.trimEnd(), c.summary] as const);
  return `troupe — durable multi-agent workflows

Usage:
${columns(lines)}

Options of every command:
${optionLines({ ...COMMON_OPTIONS, version: { type: 'boolean', description: 'print the version (alone)' } })}

Run \`troupe <command> --help\` for a command's options.
`;
}

/** `troupe <command> --help`. */
export function commandUsage(command: Command): string {
  const own =
    Object.keys(command.options).length > 0 ? `\nOptions:\n${optionLines(command.options)}\n` : '';
  const examples =
    command.examples.length > 0
      ? `\nExamples:\n${command.examples.map((e) => `  ${e}`).join('\n')}\n`
      : '';
  return `Usage: troupe ${command.name} ${command.args ? `${command.args} ` : ''}[options]

${command.description}
${own}
Common options:
${optionLines(COMMON_OPTIONS)}
${examples}`;
}

/** A one-line pointer to the full help, printed after a usage error. */
export function usageHint(command: Command | undefined): string {
  return command
    ? `Usage: ${`troupe ${command.name} ${command.args}`.trimEnd()}\nRun \`troupe ${command.name} --help\` for its options.\n`
    : 'Run `troupe --help` for the commands.\n';
}

function optionLines(options: Readonly<Record<string, OptionSpec>>): string {
  return columns(
    Object.entries(options).map(([name, spec]) => {
      const value = spec.value ? `${spec.value.startsWith('[') ? '' : ' '}${spec.value}` : '';
      const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${value}`;
      return [flag, spec.description] as const;
    }),
  );
}

function columns(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`).join('\n');
}
