/**
 * Issue 17 item 6: the run watch compares only the tasks the run's events
 * named, and every task at least once per FULL_SCAN_MS, so a change no
 * event names (the scheduler changes some statuses in place) still reaches
 * the page. A run's actor is stood in for by its snapshot; the clock is
 * injected.
 */

import { describe, expect, it } from 'vitest';
import type { AnyActorRef } from 'xstate';
import type { WorkflowContext } from '../../src/machines/workflow/context.js';
import {
  batchGapMs,
  changesGapMs,
  FULL_SCAN_MS,
  MAX_BATCH_GAP_MS,
  MAX_CHANGES_GAP_MS,
  RunWatch,
} from '../../src/runtime/inspector/run-watch.js';

function fakeRun(size = 2) {
  const ids = size === 2 ? ['a', 'b'] : Array.from({ length: size }, (_, i) => `t${i}`);
  const snapshot = {
    status: 'active',
    value: 'running',
    context: {
      workflowId: 'w',
      definition: {
        name: 'run',
        tasks: ids.map((id) => ({ id, agent: 'x', dependsOn: [], description: '' })),
      },
      runs: Object.fromEntries(ids.map((id) => [id, { status: 'pending', attempts: 0 }])),
      shared: {},
      settled: 0,
      inFlight: 0,
    },
  };
  const ref = { sessionId: 'x:1', getSnapshot: () => snapshot } as unknown as AnyActorRef;
  return { context: snapshot.context as unknown as WorkflowContext, snapshot, ref };
}

describe('ISSUE-17 run watch', () => {
  it('sends the tasks events named at once, and a change no event named within FULL_SCAN_MS', () => {
    const { context, ref } = fakeRun();
    let now = 10_000;
    const watch = new RunWatch({ lookup: () => ref, now: () => now });
    expect(watch.watch('w')?.tasks.map((t) => t.status)).toEqual(['pending', 'pending']);
    const changed = () => {
      watch.moved('x:1');
      return watch.collect()[0]?.tasks.map((t) => `${t.id}:${t.status}:${t.attempts}`);
    };
    // The first batch after watching compares every task.
    context.runs.a!.status = 'running';
    expect(changed()).toEqual(['a:running:0']);

    // A change no event names waits for the next full comparison...
    now += 10;
    context.runs.b!.status = 'cancelled';
    expect(changed()).toEqual([]);
    // ...while one an event names goes out with the next batch.
    context.runs.a!.attempts = 1;
    watch.noted({ workflowId: 'w', taskId: 'a' });
    now += 10;
    expect(changed()).toEqual(['a:running:1']);
    // An event that names no single task makes the next batch compare them all.
    watch.noted({ workflowId: 'w' });
    expect(changed()).toEqual(['b:cancelled:0']);

    // Without any event naming it, a change shows once FULL_SCAN_MS has passed.
    context.runs.b!.status = 'completed';
    now += FULL_SCAN_MS - 1;
    expect(changed()).toEqual([]);
    now += 1;
    expect(changed()).toEqual(['b:completed:0']);
  });

  it("gathers a big run's changes for changesGapMs, but sends a state change or the end at once", () => {
    const size = 5_000;
    const gap = changesGapMs(size);
    expect(gap).toBe(500);
    expect(changesGapMs(100_000)).toBe(MAX_CHANGES_GAP_MS);
    expect(changesGapMs(200)).toBe(20);
    const { context, snapshot, ref } = fakeRun(size);
    let now = 10_000;
    const watch = new RunWatch({ lookup: () => ref, now: () => now });
    watch.watch('w');
    const changed = (taskId?: string) => {
      if (taskId) watch.noted({ workflowId: 'w', taskId });
      watch.moved('x:1');
      return watch.collect()[0]?.tasks.map((t) => `${t.id}:${t.status}`);
    };
    expect(watch.dueIn()).toBeUndefined();
    context.runs.t1!.status = 'running';
    expect(changed('t1')).toEqual(['t1:running']);
    // Within the gap the changes wait, and the watch says when they are due...
    now += 100;
    context.runs.t2!.status = 'running';
    expect(changed('t2')).toBeUndefined();
    expect(watch.dueIn()).toBe(gap - 100);
    now += gap - 101;
    context.runs.t2!.status = 'completed';
    expect(changed('t2')).toBeUndefined();
    expect(watch.dueIn()).toBe(1);
    // ...then go out together: a task that ran and ended in the gap once, as it is now.
    now += 1;
    expect(changed()).toEqual(['t2:completed']);
    expect(watch.dueIn()).toBeUndefined();
    // A change of the run's state goes out at the next batch, with the tasks changed so far.
    now += 10;
    context.runs.t3!.status = 'running';
    snapshot.value = 'paused';
    expect(changed('t3')).toEqual(['t3:running']);
    // So does the end.
    now += 10;
    context.runs.t3!.status = 'cancelled';
    snapshot.status = 'stopped';
    expect(changed('t3')).toEqual(['t3:cancelled']);
  });

  it('compares every task of a run whose changes gather for FULL_SCAN_MS, without tracking its events', () => {
    const size = 10_000;
    expect(changesGapMs(size)).toBe(FULL_SCAN_MS);
    const { context, ref } = fakeRun(size);
    let now = 10_000;
    const watch = new RunWatch({ lookup: () => ref, now: () => now });
    watch.watch('w');
    const changed = () => {
      watch.moved('x:1');
      return watch.collect()[0]?.tasks.map((t) => `${t.id}:${t.status}`);
    };
    expect(changed()).toEqual([]);
    // Changes named by events and changes no event names go out alike, once the gap has passed.
    context.runs.t5!.status = 'running';
    watch.noted({ workflowId: 'w', taskId: 't5' });
    context.runs.t9999!.status = 'cancelled';
    now += FULL_SCAN_MS - 1;
    expect(changed()).toBeUndefined();
    now += 1;
    expect(changed()).toEqual(['t5:running', 't9999:cancelled']);
  });

  it('asks for batches batchGapMs apart while a big live run is watched, and at the configured pace after', () => {
    expect(batchGapMs(10_000)).toBe(MAX_BATCH_GAP_MS);
    expect(batchGapMs(4_000)).toBe(100);
    expect(batchGapMs(1_000)).toBe(25);
    const { snapshot, ref } = fakeRun(8_000);
    const watch = new RunWatch({ lookup: () => ref, now: () => 0 });
    expect(watch.batchGapMs()).toBe(0);
    watch.watch('w');
    expect(watch.batchGapMs()).toBe(200);
    snapshot.status = 'done';
    expect(watch.batchGapMs()).toBe(0);
  });
});
