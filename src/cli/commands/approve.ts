/** `troupe approve <runId> <name> [--by <who>]`: approves an approval task. */
import { answerWait } from '../answer-wait.js';
import { type Command, stringOption } from '../command.js';

export const approve: Command = {
  name: 'approve',
  summary: 'approve an approval task of a run',
  args: '<runId> <name>',
  positionals: { min: 2, max: 2 },
  options: {
    by: { type: 'string', value: '<who>', description: 'who approves (kept in the answer)' },
  },
  description:
    'Answers the approval <name> with { approved: true }: the task completes and the run goes on\nwhen resumed (`troupe resume`). `troupe reject` is the other answer.',
  examples: ['troupe approve run-1 approve-deploy --by ana'],
  async run({ positionals, values }, ctx) {
    const [runId, name] = positionals as [string, string];
    const by = stringOption(values, 'by');
    return answerWait(ctx, runId, name, { approved: true, ...(by === undefined ? {} : { by }) });
  },
};
