/**
 * Keys from users never touch object prototypes: `__proto__`, `constructor`,
 * `toString`, `hasOwnProperty` and `valueOf` work as shared-context keys,
 * task input keys, task ids, roles, job ids and names, lock keys and message
 * fields, and a bad key never stops the communicator for other workflows.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, defineAgent, type Runtime, TaskQueue } from '../../src/index.js';
import { agent } from '../core/helpers.js';
import { durableRuntime, scratchDir, useScratch } from '../durability/helpers.js';

const KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'] as const;

/** An object with each key as an own property (an object literal would set the prototype for `__proto__`). */
function withKeys<T>(value: (key: string) => T): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of KEYS)
    Object.defineProperty(out, key, {
      value: value(key),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}

useScratch();
let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

describe('shared-context keys', () => {
  it('updateSharedContext stores, reads, versions and persists every such key; other workflows keep working', async () => {
    const dir = await scratchDir();
    const { rt: first } = await durableRuntime(dir);
    const c = first.communicator;
    for (const key of KEYS) {
      const after = await c.updateSharedContext(
        'wf',
        'writer',
        withKeys(() => 0) && { [key]: { polluted: true } },
      );
      expect(Object.hasOwn(after.data, key)).toBe(true);
    }
    await c.updateSharedContext(
      'wf',
      'writer',
      withKeys((key) => `v-${key}`),
    );
    const shared = await c.getSharedContext('wf');
    expect(shared.version).toBe(KEYS.length + 1);
    expect(Object.keys(shared.data).sort()).toEqual([...KEYS].sort());
    for (const key of KEYS) {
      expect(shared.data[key]).toBe(`v-${key}`);
      expect((await c.getContextHistory('wf', key)).map((change) => change.value)).toEqual([
        { polluted: true },
        `v-${key}`,
      ]);
    }
    // Another workflow is unaffected and the communicator still answers.
    await c.updateSharedContext('other', 'writer', { ok: 1 });
    expect((await c.getSharedContext('other')).data).toEqual({ ok: 1 });
    await first.close();

    const { rt: second } = await durableRuntime(dir);
    const reread = await second.communicator.getSharedContext('wf');
    expect(Object.keys(reread.data).sort()).toEqual([...KEYS].sort());
    expect(reread.data.toString).toBe('v-toString');
    expect(Object.getOwnPropertyDescriptor(reread.data, '__proto__')?.value).toBe('v-__proto__');
    expect((await second.communicator.getContextHistory('wf', 'constructor')).length).toBe(2);
  });

  it('reading a key nobody wrote gives an empty history, not a prototype member', async () => {
    rt = await createRuntime({ dataDir: false });
    for (const key of KEYS) expect(await rt.communicator.getContextHistory('wf', key)).toEqual([]);
  });

  it('ctx.updateShared with such keys reaches the run context and the next task', async () => {
    let seen: Record<string, unknown> = {};
    rt = await createRuntime({
      dataDir: false,
      agents: [
        agent('writer', (_task, ctx) => {
          ctx.updateShared(withKeys((key) => key.length));
          return null;
        }),
        agent('reader', (_task, ctx) => {
          seen = { ...ctx.shared };
          return null;
        }),
      ],
    });
    const result = await rt.engine.execute({
      name: 'keys',
      tasks: [
        { id: 'w', agent: 'writer' },
        { id: 'r', agent: 'reader', dependsOn: ['w'] },
      ],
    });
    expect(result.status).toBe('completed');
    expect(Object.keys(result.context).sort()).toEqual([...KEYS].sort());
    expect(Object.keys(seen).sort()).toEqual([...KEYS].sort());
    expect(seen.valueOf).toBe('valueOf'.length);
  });
});

describe('task inputs, ids and roles', () => {
  it('input keys reach the agent intact, and task ids work as ids', async () => {
    const inputs: Record<string, unknown>[] = [];
    rt = await createRuntime({
      dataDir: false,
      agents: [
        agent('keeper', (task, ctx) => {
          inputs.push(task.input);
          return { deps: Object.keys(ctx.dependencies) };
        }),
      ],
    });
    const tasks = KEYS.map((id, i) => ({
      id,
      agent: 'keeper',
      input: JSON.parse(`{"${id}": ${i}, "plain": true}`),
      dependsOn: i === 0 ? [] : [KEYS[i - 1]!],
    }));
    const result = await rt.engine.execute({ name: 'ids', tasks });
    expect(result.status).toBe('completed');
    expect(Object.keys(result.tasks)).toEqual([...KEYS]);
    KEYS.forEach((id, i) => {
      expect(Object.hasOwn(inputs[i]!, id)).toBe(true);
      expect(inputs[i]![id]).toBe(i);
      expect(result.tasks[id]!.status).toBe('completed');
      expect(result.tasks[id]!.output).toEqual({ deps: i === 0 ? [] : [KEYS[i - 1]] });
    });
  });

  it('roles and message fields named like prototype members are delivered and answered', async () => {
    rt = await createRuntime({
      dataDir: false,
      agents: KEYS.filter((key) => key !== '__proto__').map((role) =>
        defineAgent({ role, run: () => null, onMessage: (message) => ({ echo: message.payload }) }),
      ),
    });
    for (const role of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      const reply = await rt.communicator.request({
        from: 'valueOf',
        to: role,
        correlationId: role,
        payload: withKeys(() => 1),
        workflowId: 'toString',
      });
      expect(reply.payload).toEqual({ echo: withKeys(() => 1) });
    }
    await rt.communicator.sendMessage({
      from: '__proto__',
      to: 'constructor',
      type: 'notification',
      workflowId: 'hasOwnProperty',
    });
    const history = await rt.communicator.getMessageHistory({
      workflowId: 'toString',
      agent: 'constructor',
    });
    expect(history.map((m) => m.type)).toEqual(['request', 'response']);
  });

  it('lock keys and owners named like prototype members', async () => {
    rt = await createRuntime({ dataDir: false });
    for (const key of KEYS) {
      await rt.communicator.acquireLock('valueOf', key, key, { timeout: 0 });
    }
    expect((await rt.communicator.getLocks('valueOf')).map((lock) => lock.key).sort()).toEqual(
      [...KEYS].sort(),
    );
    for (const key of KEYS) await rt.communicator.releaseLock('valueOf', key, key);
    expect(await rt.communicator.getLocks('valueOf')).toEqual([]);
  });
});

describe('queue jobs', () => {
  it('job ids and names named like prototype members', async () => {
    const { MemoryStore } = await import('../../src/index.js');
    const queue = new TaskQueue({ store: new MemoryStore() });
    queue.register('echo', (ctx) => ctx.args[0]);
    await queue.start();
    for (const key of KEYS) {
      await queue.enqueue({
        id: key,
        name: key,
        handler: 'echo',
        args: [JSON.parse(`{"${key}": 1}`)],
      });
    }
    for (const key of KEYS) {
      const result = await queue.waitForJob(key);
      expect(result.status).toBe('completed');
      expect(Object.hasOwn(result.result as object, key)).toBe(true);
      expect((await queue.getJob(key))?.name).toBe(key);
    }
    await queue.stop();
  });
});
