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
import { FULL_SCAN_MS, RunWatch } from '../../src/runtime/inspector/run-watch.js';

function fakeRun() {
  const context = {
    workflowId: 'w',
    definition: {
      name: 'two',
      tasks: [
        { id: 'a', agent: 'x', dependsOn: [], description: '' },
        { id: 'b', agent: 'x', dependsOn: [], description: '' },
      ],
    },
    runs: {
      a: { status: 'pending', attempts: 0 },
      b: { status: 'pending', attempts: 0 },
    },
    shared: {},
    settled: 0,
    inFlight: 0,
  };
  const ref = {
    sessionId: 'x:1',
    getSnapshot: () => ({ status: 'active', value: 'running', context }),
  } as unknown as AnyActorRef;
  return { context: context as unknown as WorkflowContext, ref };
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
});
