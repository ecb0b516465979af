/**
 * Agents talking to each other: messages, a request answered by a hook, a
 * shared context written with optimistic concurrency, a lock, and a result
 * handoff that the next task picks up. In memory; exits by itself.
 *
 *   npx tsx examples/communicator.ts
 */
import { createRuntime, defineAgent, TroupeError } from '../src/index.js';

const rt = await createRuntime({ dataDir: false });

rt.registerAgent(
  defineAgent({
    role: 'elasticsearch',
    run: async (task, ctx) => {
      const mapping = { title: 'text', embedding: 'dense_vector' };
      // A result handoff: a message to backend, recorded in the shared context too.
      await rt.communicator.handoffResult('elasticsearch', 'backend', task.workflowId, { mapping });
      // A request: the reviewer's onMessage hook answers it.
      const review = await ctx.request(
        { to: 'reviewer', payload: { mapping } },
        { timeout: 1_000 },
      );
      return { index: 'planning_applications', review: review.payload };
    },
  }),
);
rt.registerAgent(
  defineAgent({
    role: 'backend',
    run: (_task, ctx) => {
      // Everything delivered to backend in this workflow so far, handoffs included.
      const handoff = ctx.messages.find((m) => m.type === 'result_handoff');
      return { endpoint: '/api/search', builtOn: handoff?.payload ?? null };
    },
  }),
);
rt.registerAgent(
  defineAgent({
    role: 'reviewer',
    run: () => null,
    onMessage: (message) => {
      if (message.type === 'request') return { approved: true, by: 'reviewer' };
      console.log(`reviewer got a ${message.type} from ${message.from}`);
      return undefined;
    },
  }),
);

// 1. A workflow whose agents message each other while it runs.
const result = await rt.engine.execute(
  {
    name: 'search-feature',
    tasks: [
      { id: 'index', agent: 'elasticsearch' },
      { id: 'api', agent: 'backend', dependsOn: ['index'] },
    ],
  },
  { workflowId: 'wf-search' },
);
console.log('run:', result.status, JSON.stringify(result.tasks.api?.output));

// 2. Direct messages and a broadcast to everyone but the sender.
await rt.communicator.sendMessage({
  from: 'backend',
  to: 'reviewer',
  type: 'notification',
  payload: { deployed: true },
  workflowId: 'wf-search',
});
const { recipients } = await rt.communicator.broadcast({ from: 'backend', type: 'notification' });
console.log('broadcast reached:', [...recipients].sort().join(', '));

// 3. Optimistic concurrency: read, write with the version read, retry on conflict.
async function bump(writer: string): Promise<void> {
  for (;;) {
    const seen = await rt.communicator.getSharedContext('wf-search');
    const count = typeof seen.data.deploys === 'number' ? seen.data.deploys : 0;
    try {
      await rt.communicator.updateSharedContext(
        'wf-search',
        writer,
        { deploys: count + 1 },
        {
          expectedVersion: seen.version,
        },
      );
      return;
    } catch (error) {
      if (!(error instanceof TroupeError && error.code === 'VERSION_CONFLICT')) throw error;
    }
  }
}
await Promise.all(['a', 'b', 'c'].map(bump));
const shared = await rt.communicator.getSharedContext('wf-search');
console.log(
  `shared context v${shared.version}: deploys=${shared.data.deploys}, keys: ${Object.keys(shared.data).join(', ')}`,
);

// 4. A lock around a critical section; released even if the section throws.
const order: string[] = [];
await Promise.all(
  ['first', 'second'].map((owner) =>
    rt.communicator.withLock(
      'wf-search',
      'migration',
      owner,
      async () => {
        order.push(`${owner} in`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        order.push(`${owner} out`);
      },
      { ttlMs: 1_000 },
    ),
  ),
);
console.log('lock order:', order.join(' -> '));

// 5. The history, complete from the store.
const history = await rt.communicator.getMessageHistory({ workflowId: 'wf-search' });
console.log('history:', history.map((m) => `${m.type} ${m.from}->${m.to}`).join('; '));

// Errors name what went wrong.
await rt.communicator
  .sendMessage({ from: 'backend', to: 'fronted', type: 'notification' })
  .catch((error: TroupeError) => console.log(`${error.code}: ${error.message}`));
await rt.close();
