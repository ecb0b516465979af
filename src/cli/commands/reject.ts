/** `troupe reject <runId> <name> [--reason <text>] [--by <who>]`: rejects an approval task. */
import { answerWait } from '../answer-wait.js';
import { type Command, stringOption } from '../command.js';

export const reject: Command = {
  name: 'reject',
  summary: 'reject an approval task of a run',
  args: '<runId> <name>',
  positionals: { min: 2, max: 2 },
  options: {
    reason: { type: 'string', value: '<text>', description: 'why (in the task error)' },
    by: { type: 'string', value: '<who>', description: 'who rejects (kept in the answer)' },
  },
  description:
    'Answers the approval <name> with { approved: false }: the task fails with APPROVAL_REJECTED\n(the reason in its message) when the run is resumed, and its dependents do not run.',
  examples: ["troupe reject run-1 approve-deploy --reason 'change freeze'"],
  async run({ positionals, values }, ctx) {
    const [runId, name] = positionals as [string, string];
    const reason = stringOption(values, 'reason');
    const by = stringOption(values, 'by');
    return answerWait(ctx, runId, name, {
      approved: false,
      ...(reason === undefined ? {} : { reason }),
      ...(by === undefined ? {} : { by }),
    });
  },
};
