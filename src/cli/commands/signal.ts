/** `troupe signal <runId> <name> [--json <payload>]`: answers a wait of a stored run. */
import { answerWait } from '../answer-wait.js';
import { type Command, stringOption, UsageError } from '../command.js';

export const signal: Command = {
  name: 'signal',
  summary: 'answer a wait of a run',
  args: '<runId> <name>',
  positionals: { min: 2, max: 2 },
  options: {
    payload: {
      type: 'string',
      value: '<json>',
      description: 'the answer as JSON (also accepted as --json <json>; default: null)',
    },
  },
  description:
    "Answers the wait <name> of a run whose process has exited (`troupe list --waiting` shows\nthem). The answer is checked against the wait's schema (INVALID_SIGNAL if it does not\nmatch) and recorded in the run's journal; the run applies it when resumed (`troupe resume`).",
  examples: [`troupe signal run-1 user-answer --json '{"text":"Postgres"}'`],
  // `--json <payload>` names the answer here; `--json` alone stays the output switch.
  preprocess: (argv) =>
    argv.map((arg, i) =>
      arg === '--json' && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')
        ? '--payload'
        : arg.startsWith('--json=')
          ? `--payload=${arg.slice('--json='.length)}`
          : arg,
    ),
  async run({ positionals, values }, ctx) {
    const [runId, name] = positionals as [string, string];
    const text = stringOption(values, 'payload');
    let payload: unknown = null;
    if (text !== undefined) {
      try {
        payload = JSON.parse(text);
      } catch (error) {
        throw new UsageError(
          `the answer is not valid JSON (${(error as Error).message}); quote it for the shell, e.g. --json '{"ok":true}'`,
        );
      }
    }
    return answerWait(ctx, runId, name, payload);
  },
};
