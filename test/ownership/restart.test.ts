/**
 * A database restart in the middle of a run (`pg_ctl restart -m immediate`,
 * a crash of the server) on a private cluster of its own: the runtime
 * reconnects, the run finishes, and nothing acknowledged is lost.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRuntime, defineAgent, TroupeError } from '../../src/index.js';
import { type PostgresCluster, startPostgresCluster } from '../../src/testing/index.js';

let cluster: PostgresCluster;
beforeAll(async () => {
  cluster = await startPostgresCluster();
}, 60_000);
afterAll(() => cluster?.stop());

it('survives pg_ctl restart -m immediate mid-run: reconnects, finishes, every acknowledged completion kept, none re-run', async () => {
  const url = await cluster.createDatabase('restart');
  const errors: unknown[] = [];
  const rt = await createRuntime({
    store: { postgres: { connectionString: url } },
    onError: (error) => errors.push(error),
  });
  const runs = new Map<string, number>();
  let restarted: Promise<void> | undefined;
  const acknowledged = new Set<string>();
  rt.registerAgent(
    defineAgent({
      role: 'worker',
      run: async (task) => {
        runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 10));
        return { task: task.id };
      },
    }),
  );
  rt.engine.on('task.completed', async (event) => {
    await rt.engine.flushed();
    acknowledged.add(event.taskId);
    // The server crashes once a fifth of the run is durable.
    if (acknowledged.size === 12 && !restarted) restarted = cluster.restart('immediate');
  });
  const tasks = Array.from({ length: 60 }, (_, i) => ({
    id: `t${i}`,
    agent: 'worker',
    dependsOn: i === 0 ? [] : [`t${i - 1}`],
  }));
  const result = await rt.engine.execute({ name: 'restart', tasks });
  await restarted;
  expect(result.status).toBe('completed');
  expect(Object.keys(result.tasks)).toHaveLength(60);
  for (const id of acknowledged) expect(result.tasks[id]?.status).toBe('completed');
  // One process, no takeover: nothing ran twice.
  expect([...runs.values()].every((count) => count === 1)).toBe(true);
  expect(
    errors.filter((error) => error instanceof TroupeError && error.code === 'STORE_WRITE_FAILED'),
  ).toEqual([]);
  const stored = await rt.engine.getState(result.workflowId);
  expect(stored?.status).toBe('completed');
  await rt.close();
}, 90_000);
