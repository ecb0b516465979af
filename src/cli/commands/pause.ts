/** `troupe pause <runId>`: pause a stored run; it stays paused until `troupe resume`. */
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { openRunControl } from '../run-control.js';

export const pause: Command = {
  name: 'pause',
  summary: 'pause a run until `troupe resume`',
  args: '<runId>',
  positionals: { min: 1, max: 1 },
  options: {},
  description:
    'Pauses a run of the data folder: it starts no new task until `troupe resume <runId>`, across\nrestarts. The folder must not be open in another process (LevelDB allows one): a run live in\na `troupe demo --inspect` is paused from its inspector.',
  examples: [],
  async run({ positionals }, ctx) {
    const runId = positionals[0]!;
    const control = await openRunControl(ctx);
    try {
      await control.pause(runId);
    } finally {
      await control.close();
    }
    if (ctx.json) ctx.io.out.write(`${JSON.stringify({ workflowId: runId, status: 'paused' })}\n`);
    else ctx.io.out.write(`Run ${runId} is paused; \`troupe resume ${runId}\` continues it.\n`);
    return EXIT.ok;
  },
};
