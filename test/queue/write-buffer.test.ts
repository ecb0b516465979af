import { describe, expect, it } from 'vitest';
import { JobWriteBuffer } from '../../src/actors/queue/job-persister.js';
import type { JobRecord } from '../../src/machines/queue/job.js';
import type { Store, StoreOp } from '../../src/store/store.js';
import { gate, settle } from './helpers.js';

/** A store whose batches wait for the test to release them. */
function heldStore() {
  const batches: StoreOp[][] = [];
  const releases: Array<(error?: Error) => void> = [];
  const store = {
    batch(ops: readonly StoreOp[]) {
      batches.push(
        ops.map((op) => (op.type === 'put' ? { ...op, value: { ...(op.value as object) } } : op)),
      );
      const { promise, open } = gate<Error | undefined>();
      releases.push(open);
      return promise.then((error) => {
        if (error) throw error;
      });
    },
  } as unknown as Store;
  const release = async (error?: Error) => {
    releases.shift()?.(error);
    await settle();
  };
  return { store, batches, release };
}

const record = (id: string, status: JobRecord['status'] = 'queued') =>
  ({ id, status }) as unknown as JobRecord;

/** What the queue machine hands the persister: full records, deletes, attempt records. */
const changes = (puts: JobRecord[], deletes: string[] = [], attempts: JobRecord[] = []) => ({
  puts,
  deletes,
  attempts,
});

const summary = (ops: StoreOp[]) =>
  ops.map(
    (op) => `${op.type} ${op.key}${op.type === 'put' ? ` ${(op.value as JobRecord).status}` : ''}`,
  );

describe('JobWriteBuffer', () => {
  it('writes one op per job per batch, with its latest state', async () => {
    const { store, batches, release } = heldStore();
    const buffer = new JobWriteBuffer(store);
    const job = record('a');
    buffer.write(changes([job], []));
    job.status = 'running';
    buffer.write(changes([job, record('b')], []));
    const flushed = buffer.flush();
    await settle();
    expect(batches.map(summary)).toEqual([['put a running', 'put b queued']]);
    await release();
    await flushed;
  });

  it('skips a job written and dropped before its first batch, and still resolves flush()', async () => {
    const { store, batches } = heldStore();
    const buffer = new JobWriteBuffer(store);
    buffer.write(changes([record('gone')], []));
    const flushed = buffer.flush();
    buffer.write(changes([], ['gone']));
    await flushed;
    expect(batches).toEqual([]);
  });

  it('writes the delete of a job that is stored, in flight or loaded from the store', async () => {
    const { store, batches, release } = heldStore();
    const buffer = new JobWriteBuffer(store);
    buffer.markStored(['loaded']);
    buffer.write(changes([record('x')], []));
    await settle(); // first batch (put x) is now in flight
    buffer.write(changes([], ['x', 'loaded']));
    await release();
    await settle();
    expect(batches.map(summary)).toEqual([['put x queued'], ['del x', 'del loaded']]);
    await release();
    await buffer.flush();
  });

  it('resolves a flush whose writes cancelled out while a batch was in flight', async () => {
    const { store, batches, release } = heldStore();
    const buffer = new JobWriteBuffer(store);
    buffer.write(changes([record('first')], []));
    await settle();
    buffer.write(changes([record('brief')], []));
    const flushed = buffer.flush();
    buffer.write(changes([], ['brief']));
    await release();
    await flushed;
    expect(batches.map(summary)).toEqual([['put first queued']]);
  });

  it('rejects flush() and reports a failed batch, then keeps writing', async () => {
    const { store, batches, release } = heldStore();
    const buffer = new JobWriteBuffer(store);
    const errors: unknown[] = [];
    buffer.onError((error) => errors.push(error));
    buffer.write(changes([record('a')], []));
    const flushed = buffer.flush();
    await settle();
    await release(new Error('disk full'));
    await expect(flushed).rejects.toThrow('disk full');
    expect(errors).toHaveLength(1);
    buffer.write(changes([record('b')], []));
    const next = buffer.flush();
    await settle();
    await release();
    await next;
    expect(batches.map(summary)).toEqual([['put a queued'], ['put b queued']]);
  });

  it('writes an attempt record alone, drops it under a pending full record, deletes it with a full write', async () => {
    const { store, batches, release } = heldStore();
    const buffer = new JobWriteBuffer(store);
    const running = {
      ...record('a', 'running'),
      attempts: [{ attempt: 1, startedAt: 5, deadline: null }],
    } as unknown as JobRecord;
    // Enqueued and started in one turn: the full record says it all.
    buffer.write(changes([running], [], [running]));
    await settle();
    await release();
    // Started after its record was written: only the attempt record.
    buffer.write(changes([], [], [running]));
    await settle();
    await release();
    // A full write (a retry, say) covers it: the stored attempt record goes in the same batch.
    buffer.write(changes([running]));
    await settle();
    await release();
    await buffer.flush();
    expect(batches.map(summary)).toEqual([
      ['put a running'],
      ['put a/a undefined'],
      ['put a running', 'del a/a'],
    ]);
    expect(batches[1]?.[0]).toMatchObject({ value: { attempt: 1, startedAt: 5, deadline: null } });
  });

  it('does nothing without a store', async () => {
    const buffer = new JobWriteBuffer(null);
    buffer.write(changes([record('a')], ['b']));
    await buffer.flush();
  });
});
