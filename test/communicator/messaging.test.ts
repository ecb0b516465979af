import { afterEach, describe, expect, it } from 'vitest';
import { defineAgent, type Runtime, TroupeError } from '../../src/index.js';
import type { AgentMessage } from '../../src/schemas/agent-message.js';
import { expectTroupeError } from '../core/helpers.js';
import { advance, EPOCH, listener, memoryRuntime, settle } from './helpers.js';

let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

describe('ORCH-012 message passing', () => {
  it('ORCH-012 delivers a direct message to the onMessage hook, by role or by agent id', async () => {
    const frontend = listener('frontend');
    ({ rt } = await memoryRuntime([listener('backend').agent, frontend.agent]));

    const sent = await rt.communicator.sendMessage({
      from: 'backend',
      to: 'frontend',
      type: 'result_handoff',
      payload: { apiSpec: { path: '/api/search', method: 'POST' } },
      workflowId: 'wf-1',
    });
    await rt.communicator.sendMessage({
      from: 'backend',
      to: 'agent:frontend',
      type: 'notification',
    });

    expect(sent).toMatchObject({
      from: 'backend',
      to: 'frontend',
      type: 'result_handoff',
      payload: { apiSpec: { path: '/api/search', method: 'POST' } },
      timestamp: EPOCH,
      workflowId: 'wf-1',
    });
    expect(sent.id).toMatch(/^msg-/);
    expect(frontend.received.map((m) => m.type)).toEqual(['result_handoff', 'notification']);
    expect(frontend.received[0]).toEqual(sent);
    // Frozen: no recipient can change what the sender and the history hold.
    expect(Object.isFrozen(sent.payload)).toBe(true);
  });

  it('ORCH-012 keeps the order of messages from one sender', async () => {
    const b = listener('b');
    ({ rt } = await memoryRuntime([listener('a').agent, b.agent]));
    const sends = Array.from({ length: 200 }, (_, i) =>
      rt!.communicator.sendMessage({ from: 'a', to: 'b', type: 'notification', payload: i }),
    );
    await Promise.all(sends);
    expect(b.received.map((m) => m.payload)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('ORCH-012 broadcasts to every agent but the sender', async () => {
    const agents = ['backend', 'frontend', 'qa'].map((role) => listener(role));
    ({ rt } = await memoryRuntime(agents.map((a) => a.agent)));

    const receipt = await rt.communicator.broadcast({
      from: 'backend',
      type: 'notification',
      payload: { schemaChanged: true },
    });

    expect(receipt.message.to).toBe('*');
    expect([...receipt.recipients].sort()).toEqual(['frontend', 'qa']);
    expect(agents.map((a) => a.received.length)).toEqual([0, 1, 1]);
    expect(agents[2]!.received[0]!.payload).toEqual({ schemaChanged: true });
  });

  it('ORCH-012 broadcasts to a role group only', async () => {
    const agents = ['qa:unit', 'qa:e2e', 'qa', 'backend', 'qaish'].map((role) => listener(role));
    ({ rt } = await memoryRuntime(agents.map((a) => a.agent)));

    const toQa = await rt.communicator.broadcast(
      { from: 'orchestrator', type: 'task_assignment', payload: { run: 'tests' } },
      { role: 'qa' },
    );
    expect([...toQa.recipients].sort()).toEqual(['qa', 'qa:e2e', 'qa:unit']);
    const toTwo = await rt.communicator.broadcast(
      { from: 'orchestrator', type: 'notification' },
      { role: ['backend', 'qa:e2e'] },
    );
    expect([...toTwo.recipients].sort()).toEqual(['backend', 'qa:e2e']);
    expect(agents.map((a) => a.received.length)).toEqual([1, 2, 1, 1, 0]);
  });

  it('ORCH-012 request-response: resolves with the answer of the recipient hook', async () => {
    const calculator = listener('calculator', {
      onMessage: async (message) => {
        const { a, b } = message.payload as { a: number; b: number };
        await settle(1);
        return { sum: a + b };
      },
    });
    ({ rt } = await memoryRuntime([calculator.agent]));

    const response = await rt.communicator.request(
      { from: 'orchestrator', to: 'calculator', payload: { a: 2, b: 3 }, workflowId: 'wf-1' },
      { timeout: 1_000 },
    );

    const request = calculator.received[0]!;
    expect(request.type).toBe('request');
    expect(response).toMatchObject({
      from: 'calculator',
      to: 'orchestrator',
      type: 'response',
      correlationId: request.id,
      payload: { sum: 5 },
      workflowId: 'wf-1',
    });
    const history = await rt.communicator.getMessageHistory({ workflowId: 'wf-1' });
    expect(history.map((m) => m.type)).toEqual(['request', 'response']);
  });

  it('ORCH-012 a running task reads its workflow messages in ctx.messages, and sends and requests', async () => {
    const seen: AgentMessage[][] = [];
    const oracle = listener('oracle', { onMessage: () => ({ answer: 42 }) });
    ({ rt } = await memoryRuntime([
      oracle.agent,
      defineAgent({
        role: 'producer',
        run: async (_task, ctx) => {
          await ctx.send({ to: 'consumer', type: 'notification', payload: { table: 'users' } });
          const reply = await ctx.request({ to: 'oracle', payload: { q: 'meaning' } });
          return reply.payload;
        },
      }),
      defineAgent({
        role: 'consumer',
        run: (_task, ctx) => {
          seen.push([...ctx.messages]);
          return ctx.messages.length;
        },
      }),
    ]));
    // A message of another workflow must not show up.
    await rt.communicator.sendMessage({
      from: 'x',
      to: 'consumer',
      type: 'notification',
      workflowId: 'other',
    });

    const result = await rt.engine.execute(
      {
        name: 'talk',
        tasks: [
          { id: 'produce', agent: 'producer' },
          { id: 'consume', agent: 'consumer', dependsOn: ['produce'] },
        ],
      },
      { workflowId: 'wf-talk' },
    );

    expect(result.status).toBe('completed');
    expect(result.tasks.produce!.output).toEqual({ answer: 42 });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toEqual([
      expect.objectContaining({
        from: 'producer',
        to: 'consumer',
        payload: { table: 'users' },
        workflowId: 'wf-talk',
      }),
    ]);
    expect(oracle.received[0]).toMatchObject({ from: 'producer', workflowId: 'wf-talk' });
  });

  it('an agent without onMessage still gets messages in its next task; a request to it fails at once', async () => {
    const inboxes: number[] = [];
    ({ rt } = await memoryRuntime([
      defineAgent({ role: 'quiet', run: (_task, ctx) => inboxes.push(ctx.messages.length) }),
    ]));
    await rt.communicator.sendMessage({
      from: 'a',
      to: 'quiet',
      type: 'notification',
      workflowId: 'wf',
    });
    const error = await expectTroupeError(
      () => rt!.communicator.request({ from: 'a', to: 'quiet', workflowId: 'wf' }),
      'REQUEST_FAILED',
    );
    expect(error.message).toContain('"quiet" has no onMessage hook');

    await rt.engine.execute(
      { name: 'n', tasks: [{ id: 't', agent: 'quiet' }] },
      { workflowId: 'wf' },
    );
    // The request is delivered too: the next task sees everything addressed to it.
    expect(inboxes).toEqual([2]);
  });

  it('a hook that throws answers a request with an error, and reports other failures to onError', async () => {
    const errors: string[] = [];
    const flaky = listener('flaky', {
      onMessage: (message) => {
        throw new Error(`cannot handle ${message.type}`);
      },
    });
    ({ rt } = await memoryRuntime([flaky.agent], {
      onError: (error, context) => errors.push(`${context}: ${(error as Error).message}`),
    }));

    const error = await expectTroupeError(
      () => rt!.communicator.request({ from: 'a', to: 'flaky' }),
      'REQUEST_FAILED',
    );
    expect(error.message).toMatch(/to agent "flaky" failed: cannot handle request/);
    await rt.communicator.sendMessage({ from: 'a', to: 'flaky', type: 'notification' });
    await settle();
    expect(errors).toEqual([expect.stringContaining('onMessage')]);
    expect(errors[0]).toContain('cannot handle notification');
  });

  it('a request with no answer rejects with REQUEST_TIMEOUT naming the recipient', async () => {
    const slow = listener('slow', { onMessage: () => new Promise(() => undefined) });
    let clock: Awaited<ReturnType<typeof memoryRuntime>>['clock'];
    ({ rt, clock } = await memoryRuntime([slow.agent]));

    const pending = rt.communicator.request({ from: 'a', to: 'slow' }, { timeout: 5_000 });
    let settled = false;
    pending.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await advance(clock, 4_999);
    expect(settled).toBe(false);
    await advance(clock, 1);
    const error = await expectTroupeError(() => pending, 'REQUEST_TIMEOUT');
    expect(error.message).toMatch(/to agent "slow" got no response within 5000 ms/);
    expect(error.context).toMatchObject({ agent: 'slow', timeoutMs: 5_000 });
  });
});

describe('unknown recipients and invalid messages', () => {
  it('a message to an unknown recipient is an error naming it, and nothing is recorded', async () => {
    ({ rt } = await memoryRuntime([listener('backend').agent]));

    const direct = await expectTroupeError(
      () => rt!.communicator.sendMessage({ from: 'backend', to: 'fronted', type: 'notification' }),
      'UNKNOWN_RECIPIENT',
    );
    expect(direct.message).toContain('Unknown recipient "fronted"');
    expect(direct.message).toContain('registered: "backend"');
    expect(direct.context.agent).toBe('fronted');
    await expectTroupeError(
      () => rt!.communicator.request({ from: 'backend', to: 'nobody' }),
      'UNKNOWN_RECIPIENT',
    );
    await expectTroupeError(
      () => rt!.communicator.handoffResult('backend', 'nobody', 'wf', { done: true }),
      'UNKNOWN_RECIPIENT',
    );
    const group = await expectTroupeError(
      () => rt!.communicator.broadcast({ from: 'x', type: 'notification' }, { role: 'design' }),
      'UNKNOWN_RECIPIENT',
    );
    expect(group.message).toContain('role group "design"');
    expect(await rt.communicator.getMessageHistory()).toEqual([]);
  });

  it('rejects invalid messages with an error that lists every problem by field', async () => {
    const backend = listener('backend');
    ({ rt } = await memoryRuntime([backend.agent]));
    const send = (message: unknown) =>
      expectTroupeError(
        () =>
          rt!.communicator.sendMessage(
            message as Parameters<Runtime['communicator']['sendMessage']>[0],
          ),
        'INVALID_MESSAGE',
      );

    const many = await send({ from: '', to: 'backend', type: 'gossip', workflow_id: 'wf' });
    expect(many.message).toContain('sendMessage: invalid message');
    expect(many.context.issues).toEqual([
      'message.from: must not be empty',
      expect.stringContaining('message.type: Invalid option'),
      expect.stringContaining('Unrecognized key: "workflow_id"'),
    ]);
    expect((await send('hello')).message).toContain('message: Invalid input: expected object');
    // A payload that is not plain JSON: INVALID_VALUE with the path of the first bad value.
    const value = (payload: unknown) =>
      expectTroupeError(
        () =>
          rt!.communicator.sendMessage({ from: 'a', to: 'backend', type: 'notification', payload }),
        'INVALID_VALUE',
      );
    const dated = await value({ when: new Date(0), run: () => 1 });
    expect(dated.context.issues).toEqual([
      'message.payload.when: a Date is not plain JSON (convert it to a string, number, array or plain object)',
    ]);
    expect(dated.context.path).toBe('message.payload.when');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect((await value(cyclic)).message).toContain('message.payload.self: a circular reference');
    expect((await value([1, Number.NaN])).context.issues).toEqual([
      'message.payload[1]: NaN is not a JSON number (use null or a string)',
    ]);
    expect((await value(10n)).context.issues).toEqual(['message.payload: a bigint is not JSON']);
    expect(
      (await send({ from: 'a', to: 'backend', type: 'response', payload: 1 })).context.issues,
    ).toEqual(['message.correlationId: a response must name the request it answers']);
    expect(
      (await send({ from: 'a', to: 'backend', type: 'notification', workflowId: 'a/b' })).message,
    ).toContain("message.workflowId: must not contain '/'");
    await expectTroupeError(
      () =>
        rt!.communicator.request({ from: 'a', to: 'backend', type: 'notification' as 'request' }),
      'INVALID_INPUT',
    );
    expect(backend.received).toEqual([]);
  });

  it('rejects instead of throwing, and after close every call fails with RUNTIME_CLOSED', async () => {
    ({ rt } = await memoryRuntime([listener('b').agent]));
    const bad = rt.communicator.sendMessage({ from: '', to: 'b', type: 'notification' });
    expect(bad).toBeInstanceOf(Promise);
    await expect(bad).rejects.toBeInstanceOf(TroupeError);
    const communicator = rt.communicator;
    await rt.close();
    rt = undefined;
    await expectTroupeError(
      () => communicator.sendMessage({ from: 'a', to: 'b', type: 'notification' }),
      'RUNTIME_CLOSED',
    );
    await expectTroupeError(() => communicator.getSharedContext('wf'), 'RUNTIME_CLOSED');
  });
});
