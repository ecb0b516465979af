/** The LLM planner starts the decisions record: the plan's decisions, kept in its metadata, seed the run's shared context. */
import { describe, expect, it } from 'vitest';
import { createLlmPlanner, decisionsOf } from '../../src/actors/llm/index.js';
import { plannedDecisions } from '../../src/actors/llm/tools/decisions.js';
import { createRuntime } from '../../src/index.js';
import { type ChatRequestBody, reply } from '../../src/testing/index.js';
import { onCleanup, searchPlan, stubSpecialists, testClient, testServer } from './support.js';

async function plan(answer: unknown) {
  const server = await testServer({ chat: [reply.json(answer)] });
  const rt = await createRuntime({
    dataDir: false,
    agents: stubSpecialists(),
    planner: createLlmPlanner({ llm: testClient(server) }),
  });
  onCleanup(() => rt.close());
  const definition = await rt.orchestrator.decomposeTask('Create a search API', {});
  return { definition, body: server.requests[0]!.body as ChatRequestBody };
}

describe('planner decisions', () => {
  it('the plan schema asks for decisions; the plan keeps them in its metadata', async () => {
    const { definition, body } = await plan({
      ...searchPlan(),
      decisions: [
        { topic: 'api.port', decision: '3000' },
        { topic: 'search.index', decision: 'products' },
      ],
    });
    const schema = body.response_format?.json_schema?.schema as { required: string[] };
    expect(schema.required).toContain('decisions');
    expect(String(body.messages?.[0]?.content)).toContain('"decisions": [{"topic"');
    expect(definition.metadata.decisions).toEqual({
      'api.port': '3000',
      'search.index': 'products',
    });
    const seeded = plannedDecisions(definition.metadata);
    expect(decisionsOf({ decisions: seeded }).decisions).toEqual({
      'api.port': { decision: '3000', by: 'planner' },
      'search.index': { decision: 'products', by: 'planner' },
    });
  });

  it('decisions left out, or written as an object, are taken as meant', async () => {
    const none = await plan(searchPlan());
    expect(none.definition.metadata.decisions).toBeUndefined();
    expect(plannedDecisions(none.definition.metadata)).toEqual({});
    const asObject = await plan({
      ...searchPlan(),
      decisions: { stack: 'Node.js 20', port: 3000 },
    });
    expect(asObject.definition.metadata).toMatchObject({
      attempts: 1,
      decisions: { stack: 'Node.js 20', port: '3000' },
    });
  });
});
