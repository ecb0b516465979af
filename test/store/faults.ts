/**
 * The storage-fault suite, written against the Store interface so every
 * backend runs it (`describeStoreFaults('PostgresStore', ...)` beside the
 * conformance suite): a runtime over a {@link FaultyStore} wrapping the
 * backend must never acknowledge a write that failed, must stop
 * acknowledging after the first failure, and after a reopen must recover
 * every run to exactly what was acknowledged. Damaged journals (a lost
 * write, a bad checksum) are a typed STORE_CORRUPT naming the run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRuntime,
  defineAgent,
  type Runtime,
  type Store,
  TroupeError,
  type TroupeErrorCode,
} from '../../src/index.js';
import { workflowSeqKey } from '../../src/store/keys.js';
import { FaultyStore } from '../../src/testing/index.js';
import { Gates } from '../core/helpers.js';

/** A place a store lives: opened, closed, opened again on the same data. */
export interface StoreLocation {
  /** Opens the store (again, after a close: the data must still be there). */
  open(): Promise<Store>;
  /** Removes the data. */
  cleanup(): Promise<void>;
}

/** Rejects with a TroupeError of `code`; returns it. */
export async function rejectsWith(
  action: Promise<unknown>,
  code: TroupeErrorCode,
): Promise<TroupeError> {
  const caught = await action.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(caught, `expected a TroupeError ${code}`).toBeInstanceOf(TroupeError);
  expect((caught as TroupeError).code, (caught as Error).message).toBe(code);
  return caught as TroupeError;
}

const chain = (name: string, ids: readonly string[]) => ({
  name,
  tasks: ids.map((id, i) => ({ id, agent: 'worker', dependsOn: i === 0 ? [] : [ids[i - 1]!] })),
});

export function describeStoreFaults(
  name: string,
  location: () => Promise<StoreLocation>,
  /**
   * The runtime's queue keeps its jobs outside the Store (PostgreSQL's shared
   * queue, tested in test/queue/postgres.test.ts): no fault injected here reaches it.
   */
  options: { sharedQueue?: boolean } = {},
): void {
  describe(`Storage faults: ${name}`, () => {
    let place: StoreLocation | undefined;
    const runtimes: Runtime[] = [];
    /** Task executions, kept outside every runtime: `workflowId:taskId` -> count. */
    let executions: Map<string, number>;
    let gates: Gates;
    let errors: string[];

    afterEach(async () => {
      for (const rt of runtimes.splice(0)) await rt.close().catch(() => undefined);
      await place?.cleanup();
      place = undefined;
    });

    const worker = (hold: readonly string[] = []) =>
      defineAgent({
        role: 'worker',
        concurrency: 10,
        run: async (task, ctx) => {
          executions.set(ctx.idempotencyKey, (executions.get(ctx.idempotencyKey) ?? 0) + 1);
          if (hold.includes(task.id)) await gates.wait(task.id);
          return `${task.id} done`;
        },
      });

    async function runtime(store: Store, hold: readonly string[] = []): Promise<Runtime> {
      const rt = await createRuntime({
        store,
        agents: [worker(hold)],
        onError: (error, context) => errors.push(`${context}: ${(error as Error).message}`),
      });
      runtimes.push(rt);
      return rt;
    }

    async function open(hold: readonly string[] = []) {
      place = await location();
      executions = new Map();
      gates = new Gates();
      errors = [];
      const faulty = new FaultyStore(await place.open());
      return { faulty, rt: await runtime(faulty, hold) };
    }

    /** Closes `rt` and opens the same data again, without faults. */
    async function reopen(rt: Runtime): Promise<Runtime> {
      await rt.close();
      runtimes.splice(runtimes.indexOf(rt), 1);
      return runtime(await place!.open());
    }

    /** Runs `a, b, c` until `b` is running and `a`'s completion is acknowledged. */
    async function startHeldAtB(rt: Runtime, workflowId: string) {
      const handle = await rt.engine.start(chain('faults', ['a', 'b', 'c']), { workflowId });
      await gates.arrived('b');
      await rt.engine.flushed();
      return handle;
    }

    it.each(['ENOSPC', 'EIO', 'EROFS'] as const)(
      'a journal write failing with %s is never acknowledged: flushed() and the result reject with STORE_WRITE_FAILED naming it; reopened, the run resumes from what was acknowledged',
      async (code) => {
        const { faulty, rt } = await open(['b']);
        const handle = await startHeldAtB(rt, 'wf-fault');
        faulty.inject({ code });
        gates.open('b');
        const error = await rejectsWith(handle.result, 'STORE_WRITE_FAILED');
        expect(error.context.reason).toBe(code);
        expect(error.message).toContain(code);
        await rejectsWith(rt.engine.flushed(), 'STORE_WRITE_FAILED');
        expect(errors.filter((e) => e.includes('STORE_WRITE_FAILED') || e.includes(code))).toEqual([
          expect.stringMatching(/^writing to the store: A write to the store .* failed/),
        ]);
        expect(rt.engine.liveRuns()).toEqual([]);

        const next = await reopen(rt);
        expect((await next.engine.interrupted()).map((r) => r.workflowId)).toEqual(['wf-fault']);
        const result = await next.engine.resumeFromCheckpoint('wf-fault');
        expect(result?.status).toBe('completed');
        // a was acknowledged: never again. b's completion was not: it runs
        // again (at-least-once), and so may c, dispatched before the write failed.
        expect(executions.get('wf-fault:a')).toBe(1);
        expect(executions.get('wf-fault:b')).toBe(2);
        expect(executions.get('wf-fault:c')).toBeGreaterThanOrEqual(1);
      },
    );

    it('after a failure the store acknowledges nothing until it is reopened, even once the cause is gone', async () => {
      const { faulty, rt } = await open(['b']);
      const handle = await startHeldAtB(rt, 'wf-latched');
      // Fails for a while (3 batches), then the device would accept writes again.
      faulty.inject({ count: 3, code: 'EIO' });
      gates.open('b');
      await rejectsWith(handle.result, 'STORE_WRITE_FAILED');
      const failedAt = faulty.batches;
      faulty.heal();
      const refused = await rejectsWith(
        rt.store.batch([{ type: 'put', collection: 'meta', key: 'later', value: 1 }]),
        'STORE_WRITE_FAILED',
      );
      expect(refused.context).toMatchObject({ reason: 'EIO', latched: true });
      await rejectsWith(rt.engine.start(chain('late', ['x'])), 'STORE_WRITE_FAILED');
      await rejectsWith(rt.engine.flushed(), 'STORE_WRITE_FAILED');
      // Refused in front of the backend: the backend saw no write after the failure.
      expect(faulty.batches).toBe(failedAt);

      const next = await reopen(rt);
      expect(await next.store.get('meta', 'later')).toBeUndefined();
      expect((await next.engine.list()).map((r) => r.workflowId)).toEqual(['wf-latched']);
      expect((await next.engine.resumeFromCheckpoint('wf-latched'))?.status).toBe('completed');
      expect(executions.get('wf-latched:a')).toBe(1);
    });

    it('a write that landed but whose acknowledgment was lost: the result rejects, and after a reopen the run is whole', async () => {
      const { faulty, rt } = await open(['c']);
      const handle = await rt.engine.start(chain('applied', ['a', 'b', 'c']), {
        workflowId: 'wf-applied',
      });
      await gates.arrived('c');
      await rt.engine.flushed();
      faulty.inject({ mode: 'applied', code: 'EIO' });
      gates.open('c');
      await rejectsWith(handle.result, 'STORE_WRITE_FAILED');

      const next = await reopen(rt);
      const result = await next.engine.resumeFromCheckpoint('wf-applied');
      expect(result?.status).toBe('completed');
      expect(executions.get('wf-applied:a')).toBe(1);
      expect(executions.get('wf-applied:b')).toBe(1);
      expect(executions.get('wf-applied:c')).toBeLessThanOrEqual(2);
    });

    it('a completed run is acknowledged only once its result is stored', async () => {
      const { faulty, rt } = await open();
      faulty.inject({ collection: 'workflows', after: 1 });
      // The first batch touching `workflows` is the start record, the second the result.
      await rejectsWith(
        rt.engine.execute(chain('done', ['a']), { workflowId: 'wf-done' }),
        'STORE_WRITE_FAILED',
      );
      const next = await reopen(rt);
      const [record] = await next.engine.list();
      expect(record?.result).toBeUndefined();
      expect((await next.engine.resumeFromCheckpoint('wf-done'))?.status).toBe('completed');
    });

    // The shared queue on PostgreSQL writes its own table, not through this store:
    // its failed write is tested in test/queue/postgres.test.ts.
    if (!options.sharedQueue) {
      it('a queue job is acknowledged only once stored: enqueue() rejects with STORE_WRITE_FAILED, an earlier acknowledged job survives the reopen', async () => {
        const { faulty, rt } = await open();
        rt.queue.register('noop', async () => 'ok');
        const kept = await rt.queue.enqueue({ id: 'job-kept', name: 'kept', handler: 'noop' });
        faulty.inject({ collection: 'jobs' });
        await rejectsWith(
          rt.queue.enqueue({ id: 'job-lost', name: 'lost', handler: 'noop' }),
          'STORE_WRITE_FAILED',
        );
        const next = await reopen(rt);
        next.queue.register('noop', async () => 'ok');
        expect((await next.queue.getJob(kept))?.id).toBe('job-kept');
      });
    }

    it('communicator writes: flush() rejects with STORE_WRITE_FAILED; what was flushed before survives the reopen', async () => {
      const { faulty, rt } = await open();
      await rt.communicator.updateSharedContext('wf-shared', 'worker', { kept: 1 });
      await rt.communicator.flush();
      faulty.inject({ collection: 'contexts' });
      await rt.communicator.updateSharedContext('wf-shared', 'worker', { lost: 2 });
      await rejectsWith(rt.communicator.flush(), 'STORE_WRITE_FAILED');
      const next = await reopen(rt);
      expect((await next.communicator.getSharedContext('wf-shared')).data).toEqual({ kept: 1 });
    });

    it('a journal write the store silently lost is a gap: resuming fails with STORE_CORRUPT naming the run; other runs resume', async () => {
      const { faulty, rt } = await open(['b', 'c', 'd', 'y']);
      await rt.engine.start(chain('gap', ['a', 'b', 'c', 'd']), { workflowId: 'wf-gap' });
      await gates.arrived('b');
      await rt.engine.flushed();
      // The batch holding "b completed, c started" reports success but is lost.
      faulty.inject({ mode: 'dropped' });
      gates.open('b');
      await gates.arrived('c');
      await rt.engine.flushed();
      faulty.heal();
      // "c completed, d started" lands after the hole.
      gates.open('c');
      await gates.arrived('d');
      await rt.engine.start(chain('good', ['x', 'y']), { workflowId: 'wf-good' });
      await gates.arrived('y');
      await rt.engine.flushed();

      const next = await reopen(rt);
      const error = await rejectsWith(next.engine.recover('wf-gap'), 'STORE_CORRUPT');
      expect(error.context.workflowId).toBe('wf-gap');
      expect(error.message).toContain('The journal of workflow "wf-gap" has a gap');
      expect((await next.engine.resumeFromCheckpoint('wf-good'))?.status).toBe('completed');
    });

    it('a journal entry whose content does not match its checksum is STORE_CORRUPT naming the run and the entry', async () => {
      const { rt } = await open(['b']);
      await startHeldAtB(rt, 'wf-crc');
      const next = await reopen(rt);
      const key = workflowSeqKey('wf-crc', 2);
      const entry = await next.store.get<{ seq: number; event: string; crc: number }>(
        'journal',
        key,
      );
      expect(entry).toBeDefined();
      await next.store.batch([
        {
          type: 'put',
          collection: 'journal',
          key,
          value: { ...entry, event: entry!.event.replace('"a"', '"z"') },
        },
      ]);
      const error = await rejectsWith(next.engine.recover('wf-crc'), 'STORE_CORRUPT');
      expect(error.message).toContain('Journal entry 2 of workflow "wf-crc"');
      expect(error.message).toContain('checksum');
    });
  });
}
