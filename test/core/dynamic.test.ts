/** Dynamic tasks: an agent's result adds tasks to the running workflow. */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRuntime,
  type Runtime,
  type TaskDefinitionInput,
  type WorkflowEmitted,
} from '../../src/index.js';
import { agent } from './helpers.js';

let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

/**
 * Agent `planner` adds the tasks in its input's `add` field; agent `worker`
 * records each run with the dependency outputs it saw.
 */
async function dynamicRuntime() {
  const ran: { id: string; dependencies: Record<string, unknown> }[] = [];
  rt = await createRuntime({
    dataDir: false,
    agents: [
      agent('planner', (task, ctx) => {
        ctx.addTasks(task.input.add as TaskDefinitionInput[]);
        return { planned: (task.input.add as unknown[]).length };
      }),
      agent('worker', (task, ctx) => {
        ran.push({ id: task.id, dependencies: { ...ctx.dependencies } });
        return `${task.id} done`;
      }),
    ],
  });
  const added: Extract<WorkflowEmitted, { type: 'tasks.added' }>[] = [];
  rt.engine.on('tasks.added', (event) => {
    added.push(event);
  });
  return { rt, ran, added };
}

const planning = (add: TaskDefinitionInput[], extra: TaskDefinitionInput[] = []) => ({
  name: 'dynamic',
  tasks: [{ id: 'plan', agent: 'planner', input: { add }, retry: { maxAttempts: 3 } }, ...extra],
});

describe('dynamic tasks', () => {
  it('runs tasks added by an agent, after it, and reports them in the result', async () => {
    const { rt, ran, added } = await dynamicRuntime();
    const result = await rt.engine.execute(
      planning(
        [
          { id: 'shard-1', agent: 'worker', dependsOn: ['plan'] },
          { id: 'shard-2', agent: 'worker', dependsOn: ['plan'] },
          { id: 'merge', agent: 'worker', dependsOn: ['shard-1', 'shard-2', 'static'] },
          { id: 'free', agent: 'worker' },
        ],
        [{ id: 'static', agent: 'worker' }],
      ),
    );

    expect(result.status).toBe('completed');
    expect(Object.keys(result.tasks)).toEqual([
      'plan',
      'static',
      'shard-1',
      'shard-2',
      'merge',
      'free',
    ]);
    for (const id of ['shard-1', 'shard-2', 'merge', 'free']) {
      expect(result.tasks[id]).toMatchObject({
        status: 'completed',
        attempts: 1,
        output: `${id} done`,
      });
    }
    const byId = Object.fromEntries(ran.map((r) => [r.id, r.dependencies]));
    expect(byId['shard-1']).toEqual({ plan: { planned: 4 } });
    expect(byId.merge).toEqual({
      'shard-1': 'shard-1 done',
      'shard-2': 'shard-2 done',
      static: 'static done',
    });
    expect(ran.at(-1)!.id).toBe('merge');
    expect(added).toEqual([
      expect.objectContaining({ by: 'plan', taskIds: ['shard-1', 'shard-2', 'merge', 'free'] }),
    ]);
  });

  it('lets added tasks add more tasks in turn', async () => {
    const { rt, ran } = await dynamicRuntime();
    const result = await rt.engine.execute(
      planning([
        {
          id: 'plan-2',
          agent: 'planner',
          dependsOn: ['plan'],
          input: { add: [{ id: 'leaf', agent: 'worker', dependsOn: ['plan-2'] }] },
        },
      ]),
    );
    expect(result.status).toBe('completed');
    expect(result.tasks.leaf).toMatchObject({ status: 'completed', output: 'leaf done' });
    expect(ran.map((r) => r.id)).toEqual(['leaf']);
  });

  const rejected: [string, TaskDefinitionInput[], string[]][] = [
    [
      'a cycle among the added tasks',
      [
        { id: 'p', agent: 'worker', dependsOn: ['q'] },
        { id: 'q', agent: 'worker', dependsOn: ['p'] },
      ],
      ['addedTasks: dependency cycle p -> q -> p'],
    ],
    [
      'a dependency on an unknown task',
      [{ id: 'orphan', agent: 'worker', dependsOn: ['ghost'] }],
      ['addedTasks[0].dependsOn[0]: unknown task "ghost"'],
    ],
    [
      'an unknown role',
      [{ id: 'magic', agent: 'wizard' }],
      ['addedTasks[0].agent: unknown agent role "wizard"; known roles: planner, worker'],
    ],
    [
      'an id that is already taken',
      [{ id: 'plan', agent: 'worker' }],
      ['addedTasks[0].id: duplicate task id "plan"'],
    ],
    [
      'a malformed task',
      [{ id: 'bad id!', agent: 'worker', timeoutMs: -1 } as TaskDefinitionInput],
      ['addedTasks[0].id: may only contain letters, digits and _ . : -', 'addedTasks[0].timeoutMs'],
    ],
  ];

  it.each(rejected)('fails the adding task, without retrying, on %s', async (_name, add, parts) => {
    const { rt, ran, added } = await dynamicRuntime();
    const result = await rt.engine.execute(
      planning(add, [{ id: 'after', agent: 'worker', dependsOn: ['plan'] }]),
    );
    expect(result.status).toBe('failed');
    const plan = result.tasks.plan!;
    // Not retryable: asking for invalid work again would not make it valid.
    expect(plan).toMatchObject({ status: 'failed', attempts: 1 });
    expect(plan.error!.code).toBe('INVALID_DEFINITION');
    for (const part of parts) expect(plan.error!.message).toContain(part);
    expect(result.error!.message).toContain('task "plan" failed: Invalid workflow definition');
    // Nothing was added and nothing downstream ran.
    expect(Object.keys(result.tasks)).toEqual(['plan', 'after']);
    expect(result.tasks.after!.status).toBe('cancelled');
    expect(ran).toEqual([]);
    expect(added).toEqual([]);
  });
});
