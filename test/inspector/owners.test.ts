/**
 * The stored runs of an inspector on PostgreSQL show each run's owner, as
 * `troupe list --database-url` does: the owner's id, `<owner> (expired)`,
 * `parked`, `-`. Over the WebSocket protocol and in the page (real Chromium).
 */
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createRuntime, defineAgent, type Runtime } from '../../src/index.js';
import { testDatabase } from '../support/postgres.js';
import { openInspector, useChromium } from './browser.js';
import { TestClient, wsUrl } from './helpers.js';

const browser = useChromium(path.resolve('test-output'));
const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.close()));
});

/** A runtime on `url` owning runs as `ownerId`; its agent `hold` keeps tasks running until aborted. */
async function owner(url: string, ownerId: string, inspector = false) {
  const clock = new SimulatedClock();
  const rt = await createRuntime({
    store: { postgres: { connectionString: url, ownerId } },
    clock,
    ownership: { leaseMs: 60_000, takeover: false },
    ...(inspector ? { inspector: { port: 0 } } : {}),
    agents: [
      defineAgent({
        role: 'hold',
        run: (_task, ctx) =>
          new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(null))),
      }),
      defineAgent({ role: 'quick', run: async (task) => ({ done: task.id }) }),
    ],
  });
  runtimes.push(rt);
  return { rt, clock };
}

const run = (agent: string) => ({ name: agent, tasks: [{ id: 't', agent }] });

describe('inspector stored runs on PostgreSQL', () => {
  it("show each run's owner: its process, (expired), parked, - for an ended run", async () => {
    const url = await testDatabase('inspector_owners');
    const a = await owner(url, 'A', true);
    const b = await owner(url, 'B');
    await a.rt.engine.start(run('hold'), { workflowId: 'wf-a' });
    await a.rt.engine.execute(run('quick'), { workflowId: 'wf-done' });
    await b.rt.engine.start(run('hold'), { workflowId: 'wf-b1' });
    await b.rt.engine.start(run('hold'), { workflowId: 'wf-b2' });
    // B stops: its leases end at once, and no process (takeover off) has taken its runs yet.
    runtimes.splice(runtimes.indexOf(b.rt), 1);
    await b.rt.close();
    a.clock.increment(1);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    await db.query(
      "UPDATE troupe_leases SET state = 'recovery_failed' WHERE workflow_id = 'wf-b2'",
    );
    await db.end();

    const expected = { 'wf-a': 'A', 'wf-done': '-', 'wf-b1': 'B (expired)', 'wf-b2': 'parked' };
    const client = await TestClient.connect(wsUrl(a.rt.inspector!.url));
    client.send({ id: 1, type: 'stored.list' });
    const { runs } = await client.frame('stored.runs');
    expect(Object.fromEntries(runs.map((r) => [r.workflowId, r.owner]))).toEqual(expected);
    client.ws.close();

    const { page, context, problems } = await openInspector(browser(), a.rt.inspector!.url);
    try {
      for (const [workflowId, label] of Object.entries(expected)) {
        const shown = page.locator(
          `[data-testid="stored-runs"] button[data-workflow-id="${workflowId}"] [data-testid="run-owner"]`,
        );
        await shown.waitFor();
        expect(await shown.textContent()).toBe(`owner ${label}`);
      }
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('a store without run ownership lists no owners', async () => {
    const rt = await createRuntime({
      dataDir: false,
      inspector: { port: 0 },
      agents: [defineAgent({ role: 'quick', run: async (task) => ({ done: task.id }) })],
    });
    runtimes.push(rt);
    await rt.engine.execute(run('quick'), { workflowId: 'wf-local' });
    const client = await TestClient.connect(wsUrl(rt.inspector!.url));
    client.send({ id: 1, type: 'stored.list' });
    const { runs } = await client.frame('stored.runs');
    expect(runs.map((r) => r.owner)).toEqual([undefined]);
    client.ws.close();
  });
});
