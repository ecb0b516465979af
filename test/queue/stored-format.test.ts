/**
 * How durable jobs are laid out in a real LevelDB store: one full record per
 * job plus one small attempt record (`<id>/a`) written when a run starts and
 * when it completes (src/machines/queue/stored-job.ts), and data folders
 * written before attempt records existed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AnyActorRef } from 'xstate';
import type { JobRecord } from '../../src/machines/queue/job.js';
import { TaskQueue } from '../../src/runtime/queue/task-queue.js';
import type { TaskQueueOptions } from '../../src/runtime/queue/task-queue-options.js';
import { LevelStore } from '../../src/store/level/level-store.js';
import { gate, settle } from './helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function openStore(): Promise<LevelStore> {
  const dir = await mkdtemp(join(tmpdir(), 'troupe-queue-format-'));
  const store = await LevelStore.open(dir);
  cleanups.push(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return store;
}

const crashed = new Set<TaskQueue>();

function make(options: TaskQueueOptions): TaskQueue {
  const queue = new TaskQueue(options);
  cleanups.push(async () => {
    if (!crashed.delete(queue)) await queue.stop({ graceful: false });
  });
  return queue;
}

/** Ends a queue the way a crash would: no stop transition, nothing more written. */
async function crash(queue: TaskQueue): Promise<void> {
  await queue.flush();
  (queue.actor as AnyActorRef).stop();
  crashed.add(queue);
}

async function keys(store: LevelStore): Promise<string[]> {
  const found: string[] = [];
  for await (const [key] of store.range('jobs', { keysOnly: true })) found.push(key);
  return found;
}

/** Waits (without sleeping) until the store holds `key`. */
async function stored(store: LevelStore, key: string): Promise<unknown> {
  for (let turn = 0; turn < 10_000; turn++) {
    const value = await store.get('jobs', key);
    if (value !== undefined) return value;
    await settle();
  }
  throw new Error(`${key} was never stored`);
}

/** One gate per job id, for handlers the test releases job by job. */
function heldJobs() {
  const gates = new Map<string, ReturnType<typeof gate<unknown>>>();
  return {
    of(id: string) {
      let held = gates.get(id);
      if (!held) {
        held = gate<unknown>();
        gates.set(id, held);
      }
      return held;
    },
  };
}

/** A job record as troupe wrote every state of a job before attempt records existed. */
function oldRecord(id: string, overrides: Partial<JobRecord>): JobRecord {
  return {
    id,
    name: 'work',
    handler: 'work',
    args: [id],
    priority: 2,
    maxRetries: 3,
    timeoutMs: null,
    backoff: { initialDelayMs: 1000, factor: 2, maxDelayMs: 60000, jitter: 0.2 },
    status: 'queued',
    seq: 1,
    timerSeq: null,
    createdAt: 1000,
    runAt: null,
    finishedAt: null,
    attempts: [],
    failures: 0,
    progress: null,
    durable: true,
    ...overrides,
  };
}

describe('stored job format', () => {
  it('loads a data folder written before attempt records: queued runs, running runs again, completed stays done', async () => {
    const store = await openStore();
    const running = { attempt: 1, startedAt: 2000, finishedAt: null, deadline: null };
    await store.batch([
      { type: 'put', collection: 'jobs', key: 'old-queued', value: oldRecord('old-queued', {}) },
      {
        type: 'put',
        collection: 'jobs',
        key: 'old-running',
        value: oldRecord('old-running', {
          status: 'running',
          seq: 2,
          attempts: [{ ...running, outcome: 'running', error: null }],
        }),
      },
      {
        type: 'put',
        collection: 'jobs',
        key: 'old-done',
        value: oldRecord('old-done', {
          status: 'completed',
          seq: 3,
          finishedAt: 3000,
          result: 'old result',
          attempts: [{ ...running, finishedAt: 3000, outcome: 'completed', error: null }],
        }),
      },
    ]);
    const queue = make({ store });
    const ran: string[] = [];
    queue.register('work', ({ args, attempt }) => {
      ran.push(`${String(args[0])}#${attempt}`);
      return 'new result';
    });
    await queue.start();
    await queue.onIdle();
    expect(ran.sort()).toEqual(['old-queued#1', 'old-running#2']);
    expect((await queue.waitForJob('old-done')).result).toBe('old result');
    const rerun = await queue.getJob('old-running');
    expect(rerun?.attempts.map((attempt) => attempt.outcome)).toEqual(['interrupted', 'completed']);
    expect(queue.stats().counts.completed).toBe(3);
  });

  it('a run writes a small attempt record, not the job: after a crash a started job runs again as its next attempt', async () => {
    const store = await openStore();
    const first = make({ store, maxWorkers: 1 });
    const gates = heldJobs();
    first.register('work', ({ jobId }) => gates.of(jobId).promise);
    await first.start();
    await first.enqueue({ id: 'blocker', name: 'work', handler: 'work' });
    // Stored while it waits for the worker: its start comes later, as an attempt record.
    await first.enqueue({ id: 'later', name: 'work', handler: 'work', args: ['x'.repeat(200)] });
    gates.of('blocker').open('done');
    const start = await stored(store, 'later/a');
    expect(start).toEqual({ attempt: 1, startedAt: expect.any(Number), deadline: null });
    expect(await store.get<JobRecord>('jobs', 'later')).toMatchObject({
      status: 'queued',
      args: ['x'.repeat(200)],
    });
    await crash(first);

    const second = make({ store });
    const attempts: number[] = [];
    second.register('work', ({ attempt }) => {
      attempts.push(attempt);
      return 'ok';
    });
    // Answered from the store before the stored jobs are loaded: its start is added up.
    expect((await second.getJob('later'))?.status).toBe('running');
    await second.start();
    expect((await second.waitForJob('later')).attempts).toBe(2);
    const info = await second.getJob('later');
    expect(info?.attempts.map((attempt) => attempt.outcome)).toEqual(['interrupted', 'completed']);
    expect(attempts).toEqual([2]);
  });

  it('a completion is an attempt record too: after a crash the job is done, with its result, and never runs again', async () => {
    const store = await openStore();
    const first = make({ store });
    const held = gate<string>();
    first.register('work', () => held.promise);
    await first.start();
    // Stored running (it starts before the enqueue's batch is written); its completion comes later.
    await first.enqueue({ id: 'job', name: 'work', handler: 'work' });
    held.open('the result');
    await first.waitForJob('job');
    await first.flush();
    expect(await store.get('jobs', 'job/a')).toMatchObject({
      attempt: 1,
      finishedAt: expect.any(Number),
      result: 'the result',
    });
    await crash(first);

    const second = make({ store });
    let runs = 0;
    second.register('work', () => {
      runs++;
      return 'again';
    });
    await second.start();
    await second.onIdle();
    const result = await second.waitForJob('job');
    expect(result).toMatchObject({ status: 'completed', result: 'the result', attempts: 1 });
    expect(runs).toBe(0);
  });

  it('a reused id drops the finished job attempt record in the same batch, so the new job is not taken for done', async () => {
    const store = await openStore();
    const first = make({ store });
    const held = gate();
    let runs = 0;
    first.register('work', async () => {
      runs++;
      await held.promise;
      return runs;
    });
    await first.start();
    await first.enqueue({ id: 'reused', name: 'work', handler: 'work' });
    held.open();
    await first.waitForJob('reused');
    await first.flush();
    expect(await keys(store)).toEqual(['reused', 'reused/a']);
    await first.stop();
    await first.enqueue({ id: 'reused', name: 'work', handler: 'work', args: ['second'] });
    expect(await keys(store)).toEqual(['reused']);
    await crash(first);

    const second = make({ store });
    second.register('work', ({ args }) => args[0]);
    await second.start();
    expect((await second.waitForJob('reused')).result).toBe('second');
  });

  it('dropping a finished job (keepFinishedJobs) deletes its record and its attempt record', async () => {
    const store = await openStore();
    const queue = make({ store, keepFinishedJobs: 0, maxWorkers: 1 });
    const gates = heldJobs();
    queue.register('work', ({ jobId }) => gates.of(jobId).promise);
    await queue.start();
    await queue.enqueue({ id: 'blocker', name: 'work', handler: 'work' });
    await queue.enqueue({ id: 'dropped', name: 'work', handler: 'work' });
    gates.of('blocker').open('done');
    await stored(store, 'dropped/a');
    await queue.flush();
    expect(await keys(store)).toEqual(['dropped', 'dropped/a']);
    gates.of('dropped').open('done');
    await queue.onIdle();
    await queue.flush();
    expect(await keys(store)).toEqual([]);
  });
});
