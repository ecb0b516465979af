/**
 * An agent's slots when an attempt's end goes straight to its run and the
 * run gives the slot back (`task.release`, or `released` on the next
 * assignment): no slot is lost or given twice, waits hold none, and a report
 * whose run is gone frees its slot through the agent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type AnyActorRef, createActor, fromCallback } from 'xstate';
import { createRuntime, type Runtime, TroupeError } from '../../src/index.js';
import { type AgentMachineContext, agentMachine } from '../../src/machines/agent/agent.machine.js';
import type { MessageDelivery } from '../../src/machines/communicator/events.js';
import {
  type AgentEvent,
  agentSystemId,
  type ExecutorEvent,
  type TaskAssignment,
} from '../../src/machines/protocol.js';
import { agent, Gates } from './helpers.js';

let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

function assignment(taskId: string): TaskAssignment {
  return {
    workflowId: 'w',
    taskId,
    attempt: 1,
    agent: 'r',
    description: '',
    input: {},
    dependencies: {},
    shared: {},
    replyTo: 'workflow:w',
    dispatchedAt: 0,
  };
}

const slot = (taskId: string) => ({ workflowId: 'w', taskId, attempt: 1 });

/** An agent machine whose executor only records what it is asked to run. */
function recordingAgent(concurrency: number) {
  const executed: string[] = [];
  const machine = agentMachine.provide({
    actors: {
      executor: fromCallback<ExecutorEvent | MessageDelivery, { role: string }>(({ receive }) => {
        receive((event) => {
          if (event.type === 'execute') executed.push(event.assignment.taskId);
        });
      }),
    },
  });
  const actor = createActor(machine, { input: { role: 'r', concurrency } }).start();
  const send = (event: AgentEvent) => actor.send(event);
  const state = () => {
    const snapshot = actor.getSnapshot();
    const context: AgentMachineContext = snapshot.context;
    return {
      value: snapshot.value,
      running: context.running,
      finished: context.finished,
      queued: context.mailbox.items.length - context.mailbox.head,
      suspended: context.suspended,
    };
  };
  return { actor, send, state, executed };
}

describe('agent slots', () => {
  it('a slot given back with the next assignment starts the oldest queued one; the agent stays busy', () => {
    const { actor, send, state, executed } = recordingAgent(1);
    send({ type: 'task.assign', assignment: assignment('a1') });
    send({ type: 'task.assign', assignment: assignment('a2') });
    expect(state()).toMatchObject({ value: 'busy', running: 1, queued: 1 });
    send({ type: 'task.assign', assignment: assignment('a3'), released: slot('a1') });
    // a2 waited longer: it takes the freed slot, a3 queues behind it.
    expect(executed).toEqual(['a1', 'a2']);
    expect(state()).toMatchObject({ value: 'busy', running: 1, finished: 1, queued: 1 });
    send({ type: 'task.release', ...slot('a2') });
    expect(executed).toEqual(['a1', 'a2', 'a3']);
    send({ type: 'task.release', ...slot('a3') });
    expect(state()).toMatchObject({ value: 'idle', running: 0, finished: 3, queued: 0 });
    actor.stop();
  });

  it('assignments that start at once, each bringing the slot of the one before, keep the count exact', () => {
    const { actor, send, state, executed } = recordingAgent(2);
    send({ type: 'task.assign', assignment: assignment('c1') });
    expect(state()).toMatchObject({ value: 'busy', running: 1, finished: 0, queued: 0 });
    send({ type: 'task.assign', assignment: assignment('c2') });
    expect(state()).toMatchObject({ running: 2, finished: 0, queued: 0 });
    // A chain on each slot: every assignment brings back one slot and takes one.
    for (let i = 3; i <= 10; i++) {
      send({ type: 'task.assign', assignment: assignment(`c${i}`), released: slot(`c${i - 2}`) });
      expect(state()).toMatchObject({ value: 'busy', running: 2, finished: i - 2, queued: 0 });
    }
    // Full: the next one queues, and starts when a slot comes back without an assignment.
    send({ type: 'task.assign', assignment: assignment('c11') });
    expect(state()).toMatchObject({ running: 2, queued: 1 });
    send({ type: 'task.release', ...slot('c9') });
    expect(state()).toMatchObject({ running: 2, finished: 9, queued: 0 });
    send({ type: 'task.release', ...slot('c10') });
    send({ type: 'task.release', ...slot('c11') });
    expect(state()).toMatchObject({ value: 'idle', running: 0, finished: 11, queued: 0 });
    expect(executed).toEqual(Array.from({ length: 11 }, (_, i) => `c${i + 1}`));
    actor.stop();
  });

  it('a waiting attempt holds no slot: its release frees none', () => {
    const { actor, send, state, executed } = recordingAgent(1);
    send({ type: 'task.assign', assignment: assignment('b1') });
    send({ type: 'task.assign', assignment: assignment('b2') });
    send({
      type: 'task.waiting',
      ...slot('b1'),
      at: 0,
      wait: { name: 'w:b1:approve', kind: 'signal' },
    } as AgentEvent);
    // b1 gave its slot to b2 when it started waiting.
    expect(executed).toEqual(['b1', 'b2']);
    expect(state()).toMatchObject({ value: 'busy', running: 1, suspended: ['w:b1:1'] });
    send({ type: 'task.release', ...slot('b1') });
    expect(state()).toMatchObject({ value: 'busy', running: 1, finished: 1, suspended: [] });
    send({ type: 'task.release', ...slot('b2') });
    expect(state()).toMatchObject({ value: 'idle', running: 0, finished: 2 });
    actor.stop();
  });

  it('two runs share a concurrency-1 agent: never two attempts at once, every slot back at the end', async () => {
    let running = 0;
    let most = 0;
    rt = await createRuntime({
      dataDir: false,
      agents: [
        agent(
          'single',
          async () => {
            running++;
            most = Math.max(most, running);
            await Promise.resolve();
            running--;
            return 'ok';
          },
          { concurrency: 1 },
        ),
        agent('other', () => 'ok'),
      ],
    });
    const tasks = Array.from({ length: 30 }, (_, i) => ({
      id: `t${i}`,
      // Every third task on another agent: its slot goes back on its own.
      agent: i % 3 === 2 ? 'other' : 'single',
      dependsOn: i === 0 ? [] : [`t${i - 1}`],
    }));
    const results = await Promise.all([
      rt.engine.execute({ name: 'one', tasks }),
      rt.engine.execute({ name: 'two', tasks }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['completed', 'completed']);
    expect(most).toBe(1);
    const single = rt.actor.system.get(agentSystemId('single')) as AnyActorRef;
    expect(single.getSnapshot().value).toBe('idle');
    expect(single.getSnapshot().context).toMatchObject({ running: 0, finished: 40 });
  });

  it('a report whose run was stopped frees its slot through the agent', async () => {
    const gates = new Gates();
    rt = await createRuntime({
      dataDir: false,
      agents: [
        agent(
          'single',
          async (task) => {
            await gates.wait(task.id);
            return 'ok';
          },
          { concurrency: 1 },
        ),
      ],
    });
    const first = await rt.engine.start({
      name: 'first',
      tasks: [{ id: 'held', agent: 'single' }],
    });
    await gates.arrived('held');
    rt.engine.failRun(first.workflowId, new TroupeError('RUNTIME_CLOSED', 'stopped by the test'));
    await expect(first.result).rejects.toThrow('stopped by the test');
    gates.open('held');
    // Without the slot back, this run's task would wait in the agent's mailbox for ever.
    const second = rt.engine.execute({ name: 'second', tasks: [{ id: 'next', agent: 'single' }] });
    await gates.arrived('next');
    gates.open('next');
    expect((await second).status).toBe('completed');
  });
});
