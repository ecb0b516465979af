/**
 * The baseline troupe's per-task cost is held against: the same workflow run
 * by a bare XState machine, each task a `fromPromise` child spawned when its
 * dependencies are done, its completion the child's done event. No
 * journaling, no validation, no agents; the context is mutated in place.
 */
import { createActor, enqueueActions, fromPromise, setup, toPromise } from 'xstate';
import type { TaskDefinitionInput } from '../../src/schemas/workflow-definition.js';

interface RawContext {
  tasks: readonly TaskDefinitionInput[];
  /** Dependencies not done yet, by task id. */
  waitingOn: Map<string, number>;
  dependents: Map<string, string[]>;
  done: number;
}

const DONE_PREFIX = 'xstate.done.actor.';

const rawWorkflow = setup({
  types: { context: {} as RawContext, input: {} as readonly TaskDefinitionInput[] },
  actors: { task: fromPromise(async () => undefined) },
}).createMachine({
  context: ({ input }) => {
    const waitingOn = new Map<string, number>();
    const dependents = new Map<string, string[]>();
    for (const task of input) {
      waitingOn.set(task.id, task.dependsOn?.length ?? 0);
      for (const dep of task.dependsOn ?? []) {
        const list = dependents.get(dep) ?? [];
        list.push(task.id);
        dependents.set(dep, list);
      }
    }
    return { tasks: input, waitingOn, dependents, done: 0 };
  },
  initial: 'running',
  states: {
    running: {
      entry: enqueueActions(({ context, enqueue }) => {
        for (const task of context.tasks) {
          if (context.waitingOn.get(task.id) === 0) enqueue.spawnChild('task', { id: task.id });
        }
      }),
      always: { guard: ({ context }) => context.done === context.tasks.length, target: 'done' },
      on: {
        '*': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            if (!event.type.startsWith(DONE_PREFIX)) return;
            const id = event.type.slice(DONE_PREFIX.length);
            enqueue.stopChild(id);
            context.done++;
            for (const next of context.dependents.get(id) ?? []) {
              const left = context.waitingOn.get(next)! - 1;
              context.waitingOn.set(next, left);
              if (left === 0) enqueue.spawnChild('task', { id: next });
            }
          }),
        },
      },
    },
    done: { type: 'final' },
  },
});

/** Runs the tasks to the end with bare XState. */
export async function runRawXState(tasks: readonly TaskDefinitionInput[]): Promise<void> {
  const actor = createActor(rawWorkflow, { input: tasks });
  actor.start();
  await toPromise(actor);
}
