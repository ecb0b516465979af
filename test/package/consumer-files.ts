/** Files of the consumer project that packed.test.ts installs the tarball into. */

/** A strict consumer using the public API of 'troupe' and 'troupe/testing'. */
export const CONSUMER_SOURCE = `
import {
  createInspectorServer,
  createRuntime,
  defineAgent,
  JobPriority,
  MemoryStore,
  specialist,
  TaskQueue,
  TroupeError,
  type WorkflowDefinitionInput,
  type WorkflowResult,
  WorkflowEvaluator,
} from 'troupe';
import { SimulatedClock, reply, startOpenAiTestServer } from 'troupe/testing';

const definition: WorkflowDefinitionInput = {
  name: 'consumer',
  tasks: [
    { id: 'a', agent: 'worker' },
    { id: 'b', agent: 'worker', dependsOn: ['a'], condition: { task: 'a', path: 'status', equals: 'completed' } },
  ],
};
// The condition has its real type, not unknown.
const wrong: WorkflowDefinitionInput = {
  name: 'x',
  // @ts-expect-error not a condition
  tasks: [{ id: 'a', agent: 'w', condition: { nope: true } }],
};

export async function main(): Promise<WorkflowResult> {
  const rt = await createRuntime({ dataDir: false });
  rt.registerAgent(defineAgent({ role: 'worker', expertise: ['tests'], run: async (task) => ({ id: task.id }) }));
  rt.registerAgent(specialist('backend', async () => ({ ok: true })));
  const inspector = await createInspectorServer({ port: 0, runtime: rt });
  const queue = new TaskQueue({ maxWorkers: 1, store: new MemoryStore() });
  void JobPriority.HIGH;
  void queue;
  void wrong;
  void new SimulatedClock();
  const server = await startOpenAiTestServer({ chat: [reply.text('hi')] });
  try {
    const result = await rt.orchestrator.executeWorkflow(definition);
    const evaluation = await new WorkflowEvaluator().evaluateWorkflow(result);
    console.log(evaluation.grade, inspector.url);
    return result;
  } catch (error) {
    if (error instanceof TroupeError) console.error(error.code);
    throw error;
  } finally {
    await server.close();
    await inspector.close();
    await rt.close();
  }
}
`;

/** Starts a runtime with the inspector and prints what each page address serves. */
export const INSPECT_SCRIPT = `
import { createRuntime } from 'troupe';

const rt = await createRuntime({ dataDir: false, inspector: { port: 0 } });
const served = {};
try {
  for (const name of ['/', '/inspector.js', '/inspector.css', '/answer-check.js', '/elk-worker.js']) {
    const url = new URL(name, rt.inspector.url);
    url.search = new URL(rt.inspector.url).search;
    const response = await fetch(url);
    const body = Buffer.from(await response.arrayBuffer());
    served[name] = { status: response.status, type: response.headers.get('content-type'), bytes: body.length };
  }
} finally {
  await rt.close();
}
console.log(JSON.stringify(served));
`;

/**
 * A module hook that makes loading the heavy optional dependencies fail
 * (`openai`, `pg`, `ws`, `re2-wasm`, the MCP SDK), to prove that importing
 * troupe does not load them: each costs start-up time, which a run resumed
 * after a crash pays before its first task.
 */
export const HEAVY_BLOCKER = `
import { register } from 'node:module';

const hook = \`const heavy = ['openai', 'pg', 'ws', 're2-wasm', '@modelcontextprotocol/sdk'];
export async function resolve(specifier, context, next) {
  const blocked = heavy.find((name) => specifier === name || specifier.startsWith(name + '/'));
  if (blocked) throw new Error(blocked + ' is blocked');
  return next(specifier, context);
}\`;
register('data:text/javascript,' + encodeURIComponent(hook));
`;
