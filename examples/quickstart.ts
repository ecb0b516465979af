/**
 * The smallest complete troupe program: two agents, a planned workflow, a
 * hand-written one with a condition and a retry, and the results.
 *
 *   npx tsx examples/quickstart.ts
 */
import { createRuntime, defineAgent, specialist } from '../src/index.js';

const rt = await createRuntime({ dataDir: false }); // in memory; omit for .troupe/

rt.registerAgent(
  specialist('elasticsearch', async (task) => ({
    index: task.input.requirements,
    mapping: { title: 'text' },
  })),
);
rt.registerAgent(
  specialist('backend', async (_task, ctx) => {
    ctx.progress(0.5, 'writing the handler');
    return { endpoint: '/api/search', usesIndex: ctx.dependencies.elasticsearch };
  }),
);
let flaky = 0;
rt.registerAgent(
  defineAgent({
    role: 'checker',
    run: async () => {
      flaky++;
      if (flaky < 2) throw new Error('transient failure');
      return { ok: true };
    },
  }),
);

// 1. Let the orchestrator plan: it picks agents by expertise and orders them.
const plan = await rt.orchestrator.decomposeTask('Create a search API with Elasticsearch', {
  endpoint: '/api/search',
});
console.log('plan:', plan.tasks.map((t) => `${t.id} after [${t.dependsOn.join(', ')}]`).join('; '));
const planned = await rt.orchestrator.executeWorkflow(plan, { project: 'demo' });
console.log('planned run:', planned.status, Object.keys(planned.tasks));

// 2. Or write the workflow yourself: a retry and a conditional task.
rt.engine.on('task.retrying', (e) => console.log(`retrying ${e.taskId}: ${e.error.message}`));
const result = await rt.engine.execute({
  name: 'check-then-ship',
  tasks: [
    { id: 'check', agent: 'checker', retry: { maxAttempts: 3, initialDelayMs: 10 } },
    {
      id: 'ship',
      agent: 'backend',
      dependsOn: ['check'],
      condition: { task: 'check', path: 'output.ok', equals: true },
    },
  ],
});
console.log(
  'hand-written run:',
  result.status,
  `check took ${result.tasks.check?.attempts} attempts, ship is ${result.tasks.ship?.status}`,
);
await rt.close();
