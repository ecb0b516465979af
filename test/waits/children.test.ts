/**
 * Child workflows: a task of kind `workflow` and `ctx.startChild` run a
 * workflow with an id derived from the parent's; the parent waits for it,
 * fails (and compensates) when it fails, cancels it when cancelled, and
 * both resume after a restart.
 */
import { describe, expect, it } from 'vitest';
import type { EngineEvent, WorkflowResult } from '../../src/index.js';
import { agent, deferred, flush } from '../core/helpers.js';
import { durableRuntime, scratchDir, useScratch } from '../durability/helpers.js';

useScratch();

const childDefinition = {
  name: 'build',
  tasks: [
    { id: 'compile', agent: 'worker' },
    { id: 'test', agent: 'worker', dependsOn: ['compile'] },
  ],
};

/** An agent `breaker` whose every task fails with `message`. */
function breaker(message: string) {
  return agent('breaker', () => {
    throw new Error(message);
  });
}

describe('child workflows', () => {
  it('a workflow task runs its child to completion; the result is the task output', async () => {
    const { rt } = await durableRuntime(await scratchDir());
    rt.registerAgent(agent('worker', (task, ctx) => `${task.id}:${ctx.shared.target ?? '-'}`));
    const started: string[] = [];
    rt.engine.on('workflow.started', (e) => started.push((e as { workflowId: string }).workflowId));
    const result = await rt.engine.execute(
      {
        name: 'release',
        tasks: [
          {
            id: 'build',
            kind: 'workflow',
            workflow: { definition: childDefinition },
            input: { target: 'linux' },
          },
          { id: 'ship', agent: 'worker', dependsOn: ['build'] },
        ],
      },
      { workflowId: 'rel-1' },
    );
    expect(result.status).toBe('completed');
    expect(started).toEqual(['rel-1', 'rel-1.build']);
    const child = result.tasks.build?.output as WorkflowResult;
    expect(child.workflowId).toBe('rel-1.build');
    expect(child.tasks.test?.output).toBe('test:linux');
    expect(result.waits?.[0]).toMatchObject({
      kind: 'child',
      childId: 'rel-1.build',
      status: 'answered',
    });
    expect((await rt.engine.getState('rel-1.build'))?.status).toBe('completed');
  });

  it('ctx.startChild by registered name', async () => {
    const { rt } = await durableRuntime(false);
    rt.registerAgent(agent('worker', (task) => task.id));
    rt.registerAgent(
      agent('lead', async (_task, ctx) => {
        const child = await ctx.startChild('build', { target: 'arm' });
        return { child: child.workflowId, status: child.status };
      }),
    );
    rt.engine.registerWorkflow(childDefinition);
    const result = await rt.engine.execute(
      { name: 'lead', tasks: [{ id: 'plan', agent: 'lead' }] },
      { workflowId: 'lead-1' },
    );
    expect(result.tasks.plan?.output).toEqual({ child: 'lead-1.plan.1', status: 'completed' });
  });

  it('a failing child fails its task, and the parent saga compensates what completed', async () => {
    const { rt } = await durableRuntime(false);
    const undone: string[] = [];
    rt.registerAgent(agent('worker', (task) => task.id));
    rt.registerAgent(breaker('compile error'));
    const result = await rt.engine.executeWithSagaPattern(
      {
        name: 'parent',
        tasks: [
          { id: 'reserve', agent: 'worker' },
          {
            id: 'child',
            kind: 'workflow',
            dependsOn: ['reserve'],
            workflow: { definition: { name: 'broken', tasks: [{ id: 'x', agent: 'breaker' }] } },
          },
        ],
      },
      { reserve: (ctx) => void undone.push(ctx.taskId) },
      { workflowId: 'saga-1' },
    );
    expect(result.status).toBe('compensated');
    expect(result.tasks.child?.error?.code).toBe('CHILD_FAILED');
    expect(result.tasks.child?.error?.message).toMatch(/saga-1\.child.*failed.*compile error/);
    expect(undone).toEqual(['reserve']);
  });

  it('a completed child is rolled back by the parent saga: its steps undone last-first, once', async () => {
    const { rt } = await durableRuntime(await scratchDir());
    const undone: string[] = [];
    rt.registerAgent(agent('worker', (task) => task.id));
    rt.registerAgent(breaker('deploy refused'));
    // The child's own handlers, under the child's workflow name; its `notify` step has none.
    rt.engine.registerCompensations('provision', {
      dropDb: (ctx) => void undone.push(`${ctx.workflowId}/${ctx.taskId}`),
      freeIp: (ctx) => void undone.push(`${ctx.workflowId}/${ctx.taskId}`),
    });
    const result = await rt.engine.executeWithSagaPattern(
      {
        name: 'release',
        tasks: [
          { id: 'reserve', agent: 'worker' },
          {
            id: 'provision',
            kind: 'workflow',
            dependsOn: ['reserve'],
            workflow: {
              definition: {
                name: 'provision',
                tasks: [
                  { id: 'db', agent: 'worker', compensation: 'dropDb' },
                  { id: 'ip', agent: 'worker', dependsOn: ['db'], compensation: 'freeIp' },
                  { id: 'notify', agent: 'worker', dependsOn: ['ip'] },
                ],
              },
            },
          },
          { id: 'deploy', agent: 'breaker', dependsOn: ['provision'], retry: { maxAttempts: 1 } },
        ],
      },
      { reserve: (ctx) => void undone.push(`${ctx.workflowId}/${ctx.taskId}`) },
      { workflowId: 'rel-2' },
    );
    expect(result.status).toBe('compensated');
    expect(result.compensation?.compensated).toEqual(['provision', 'reserve']);
    expect(undone).toEqual(['rel-2.provision/ip', 'rel-2.provision/db', 'rel-2/reserve']);
    const child = await rt.engine.getState('rel-2.provision');
    expect(child?.status).toBe('compensated');
    expect(child?.compensation?.compensated).toEqual(['ip', 'db']);
  });

  it('cancelling the parent cancels the child', async () => {
    const { rt } = await durableRuntime(false);
    const inChild = deferred();
    rt.registerAgent(
      agent('slow', (_task, ctx) => {
        inChild.resolve();
        return new Promise((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
        );
      }),
    );
    const handle = await rt.engine.start(
      {
        name: 'parent',
        tasks: [
          {
            id: 'child',
            kind: 'workflow',
            workflow: { definition: { name: 'slow', tasks: [{ id: 's', agent: 'slow' }] } },
          },
        ],
      },
      { workflowId: 'cx' },
    );
    await inChild.promise;
    const childEnded = new Promise<EngineEvent>((resolve) =>
      rt.engine.on('workflow.cancelled', (e) => {
        if ((e as { workflowId: string }).workflowId === 'cx.child') resolve(e);
      }),
    );
    rt.engine.cancel(handle.workflowId, 'stop everything');
    const result = await handle.result;
    expect(result.status).toBe('cancelled');
    expect(result.tasks.child?.status).toBe('cancelled');
    await childEnded;
    await flush();
    expect((await rt.engine.getState('cx.child'))?.status).toBe('cancelled');
  });

  it('after a restart, parent and child both resume and the parent gets the child result', async () => {
    const dataDir = await scratchDir();
    const gate = deferred();
    let runs = 0;
    const worker = () =>
      agent('worker', async (task) => {
        if (task.id === 'test') {
          runs++;
          if (runs === 1) await gate.promise;
        }
        return task.id;
      });
    const first = await durableRuntime(dataDir);
    first.rt.registerAgent(worker());
    const inTest = new Promise<void>((resolve) =>
      first.rt.engine.on('task.started', (e) => {
        if ((e as { taskId: string }).taskId === 'test') resolve();
      }),
    );
    await first.rt.engine.start(
      {
        name: 'release',
        tasks: [{ id: 'build', kind: 'workflow', workflow: { definition: childDefinition } }],
      },
      { workflowId: 'r2' },
    );
    await inTest;
    await first.rt.engine.flushed();
    await first.rt.close();

    const second = await durableRuntime(dataDir);
    second.rt.registerAgent(worker());
    const parent = await second.rt.engine.recover('r2');
    const result = await parent!.result;
    expect(result.status).toBe('completed');
    expect((result.tasks.build!.output as WorkflowResult).tasks.test?.output).toBe('test');
    expect(runs).toBe(2);
  });
});
