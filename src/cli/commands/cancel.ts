/** `troupe cancel <runId> [--compensate]`: cancel a stored run; it is never resumed. */
import { booleanOption, type Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { openRunControl } from '../run-control.js';

export const cancel: Command = {
  name: 'cancel',
  summary: 'cancel a run (optionally rolling it back)',
  args: '<runId>',
  positionals: { min: 1, max: 1 },
  options: {
    compensate: {
      type: 'boolean',
      description: "roll back the completed tasks with the saga's compensation handlers",
    },
  },
  description:
    'Cancels a run of the data folder: it ends as cancelled and is never resumed. With\n--compensate the completed tasks are rolled back first; the handlers live in your program,\nso the rollback runs when your program recovers the run (the cancel is stored until then).\nThe folder must not be open in another process (LevelDB allows one).',
  examples: [],
  async run({ values, positionals }, ctx) {
    const runId = positionals[0]!;
    const control = await openRunControl(ctx);
    let status: string | undefined;
    try {
      await control.cancel(runId, {
        reason: 'cancelled with troupe cancel',
        compensate: booleanOption(values, 'compensate'),
      });
      status = (await control.state(runId))?.status;
    } finally {
      await control.close();
    }
    if (ctx.json) ctx.io.out.write(`${JSON.stringify({ workflowId: runId, status })}\n`);
    else ctx.io.out.write(`Run ${runId} is ${status ?? 'cancelled'}.\n`);
    return EXIT.ok;
  },
};
