/** `troupe workers`: the live worker processes of the cluster, with roles, load and last heartbeat. */
import { TroupeError } from '../../errors.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { formatDuration, table } from '../format.js';
import { withDatabase } from '../store-access.js';

export const workers: Command = {
  name: 'workers',
  summary: 'list live worker processes (PostgreSQL)',
  args: '',
  positionals: { min: 0, max: 0 },
  options: {},
  description:
    'The worker processes (`troupe worker`, createWorker) whose heartbeat is current: id,\nhost and pid, the roles they serve, tasks running now, tasks completed, and how long\nago their last heartbeat was.',
  examples: ['troupe workers', 'troupe workers --json'],
  async run(_input, ctx) {
    const connectionString = ctx.databaseUrl;
    if (!connectionString) {
      throw new TroupeError(
        'CONFIG_ERROR',
        'troupe workers reads the cluster’s database: pass --database-url postgresql://... or set TROUPE_DATABASE_URL.',
      );
    }
    const now = Date.now();
    const live = await withDatabase(connectionString, (store) => store.remoteTasks.workers(now));
    if (ctx.json) {
      ctx.io.out.write(`${JSON.stringify(live, null, 2)}\n`);
      return EXIT.ok;
    }
    if (live.length === 0) {
      ctx.io.out.write('No live workers. Start one with: troupe worker --agents <module>\n');
      return EXIT.ok;
    }
    const rows = live.map((w) => [
      w.workerId,
      `${w.host}:${w.pid}`,
      w.roles.map((r) => r.role).join(', '),
      String(w.running),
      String(w.completed),
      `${formatDuration(Math.max(0, now - w.heartbeatAt))} ago`,
    ]);
    ctx.io.out.write(
      `${table(['worker', 'process', 'roles', 'running', 'completed', 'heartbeat'], rows)}\n`,
    );
    return EXIT.ok;
  },
};
