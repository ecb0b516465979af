/** `troupe worker`: serve the agents of a module for the runs of other processes, until stopped. */
import { TroupeError } from '../../errors.js';
import { type Command, stringOption, UsageError } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { listenForInterrupt } from '../interrupt.js';

export const worker: Command = {
  name: 'worker',
  summary: 'serve agents for runs owned by other processes (PostgreSQL)',
  args: '',
  positionals: { min: 0, max: 0 },
  options: {
    agents: {
      type: 'string',
      value: '<module>',
      description: 'module exporting the agents to serve (default: troupe.config.js|mjs|ts)',
    },
    concurrency: {
      type: 'string',
      value: '<n>',
      description: 'most tasks at once in this worker (default: only the roles’ limits)',
    },
  },
  description:
    'Serves the roles of the agents module for runs owned by other processes on the same\nPostgreSQL database: claims their tasks, runs them, writes the results (see docs/workers.md).\nRuns until Ctrl+C or SIGTERM, which let running tasks finish; a second one stops at once\nand hands running tasks back to other workers.',
  examples: ['troupe worker --agents agents.mjs --concurrency 4'],
  async run({ values }, ctx) {
    const connectionString = ctx.databaseUrl;
    if (!connectionString) {
      throw new TroupeError(
        'CONFIG_ERROR',
        'troupe worker needs the database of the owners: pass --database-url postgresql://... or set TROUPE_DATABASE_URL.',
      );
    }
    const concurrencyText = stringOption(values, 'concurrency');
    const concurrency = concurrencyText === undefined ? undefined : Number(concurrencyText);
    if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) {
      throw new UsageError(
        `--concurrency must be a whole number of at least 1, not "${concurrencyText}"`,
      );
    }
    const { loadAgents } = await import('../load-agents.js');
    const { createWorker } = await import('../../runtime/workers/worker.js');
    const agents = await loadAgents(stringOption(values, 'agents'));
    const interruption = listenForInterrupt();
    const running = await createWorker({
      store: { postgres: { connectionString } },
      agents,
      ...(concurrency === undefined ? {} : { concurrency }),
      onError: (error, context) =>
        ctx.io.err.write(`troupe worker: ${context}: ${(error as Error)?.message ?? error}\n`),
    });
    const roles = agents.map((agent) => agent.role);
    ctx.io.out.write(
      ctx.json
        ? `${JSON.stringify({ workerId: running.workerId, roles })}\n`
        : `worker ${running.workerId} serving ${roles.join(', ')}; Ctrl+C stops it after its running tasks\n`,
    );
    const signal = await interruption.signal;
    // A second signal stops at once: running tasks go back to the queue.
    process.once(signal, () => {
      void running.close({ graceful: false }).then(() => process.exit(EXIT.ok));
    });
    interruption.dispose();
    await running.close();
    if (!ctx.json) ctx.io.out.write(`worker ${running.workerId} stopped\n`);
    return EXIT.ok;
  },
};
