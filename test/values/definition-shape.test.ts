/**
 * The fast shape check of a definition (src/schemas/definition-shape.ts)
 * gives exactly what zod gives: the same output, key for key and in the same
 * order, for a valid definition; the same issues for an invalid one.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseDefinitionShape } from '../../src/schemas/definition-shape.js';
import {
  taskDefinitionSchema,
  workflowDefinitionSchema,
} from '../../src/schemas/workflow-definition.js';

function expectSameAsZod(input: unknown): void {
  const zod = workflowDefinitionSchema.safeParse(input);
  const fast = parseDefinitionShape(input);
  expect(fast.success).toBe(zod.success);
  if (zod.success && fast.success) {
    // JSON text compares key order too.
    expect(JSON.stringify(fast.data)).toBe(JSON.stringify(zod.data));
    expect(fast.data).toEqual(zod.data);
    const given = (input as { tasks: { input?: unknown; dependsOn?: unknown }[] }).tasks;
    fast.data.tasks.forEach((task, i) => {
      // zod hands a given input object through and copies dependsOn.
      if (given[i]!.input !== undefined) expect(task.input).toBe(given[i]!.input);
      expect(task.dependsOn).not.toBe(given[i]!.dependsOn);
    });
  } else {
    expect(fast.error?.issues).toEqual(zod.error?.issues);
  }
}

const plain = (id: string, extra: Record<string, unknown> = {}) => ({ id, agent: 'a', ...extra });
const cyclic: Record<string, unknown> = {};
cyclic.self = cyclic;

const cases: [string, unknown][] = [
  [
    'plain tasks with defaults',
    { name: 'w', tasks: [plain('t1'), plain('t2', { dependsOn: ['t1'] })] },
  ],
  [
    'every plain field given',
    {
      name: 'w',
      description: 'd',
      maxConcurrency: 3,
      saga: true,
      metadata: { by: 'me' },
      defaults: { timeoutMs: 5 },
      tasks: [
        {
          dependsOn: [],
          input: { n: [1, 'x', null] },
          description: 'x',
          agent: 'a',
          kind: 'agent',
          id: 'q',
        },
      ],
    },
  ],
  [
    'explicit undefined fields',
    {
      name: 'w',
      tasks: [
        plain('t', {
          kind: undefined,
          description: undefined,
          input: undefined,
          dependsOn: undefined,
        }),
      ],
    },
  ],
  ['an optional field zod handles', { name: 'w', tasks: [plain('t', { timeoutMs: undefined })] }],
  [
    'tasks with retry, condition, timeout',
    {
      name: 'w',
      tasks: [
        plain('t1', { retry: { maxAttempts: 3 }, timeoutMs: 10 }),
        plain('t2', { dependsOn: ['t1'], condition: { task: 't1', status: 'completed' } }),
      ],
    },
  ],
  [
    'a task of another kind',
    { name: 'w', tasks: [{ id: 'ok', kind: 'approval' }, plain('t', { dependsOn: ['ok'] })] },
  ],
  ['a prototype-free task', { name: 'w', tasks: [Object.assign(Object.create(null), plain('t'))] }],
  [
    'a class instance as a task',
    {
      name: 'w',
      tasks: [
        new (class {
          id = 't';
          agent = 'a';
        })(),
      ],
    },
  ],
  [
    'a __proto__ key',
    { name: 'w', tasks: [JSON.parse('{"id":"t","agent":"a","__proto__":{"x":1}}')] },
  ],
  ['an unknown task key', { name: 'w', tasks: [plain('t', { agnet: 'b' })] }],
  ['an unknown definition key', { name: 'w', task: [], tasks: [plain('t')] }],
  ['no tasks', { name: 'w', tasks: [] }],
  ['tasks not an array', { name: 'w', tasks: { t: plain('t') } }],
  ['no name', { tasks: [plain('t')] }],
  ['not an object', 'w'],
  ['a bad id', { name: 'w', tasks: [plain('t 1')] }],
  ['an empty id', { name: 'w', tasks: [plain('')] }],
  ['a long id', { name: 'w', tasks: [plain('x'.repeat(201))] }],
  ['an id of 200 characters', { name: 'w', tasks: [plain('x'.repeat(200))] }],
  ['a number id', { name: 'w', tasks: [plain(7 as unknown as string)] }],
  ['no agent', { name: 'w', tasks: [{ id: 't' }] }],
  ['a bad kind', { name: 'w', tasks: [plain('t', { kind: 'robot' })] }],
  ['a long description', { name: 'w', tasks: [plain('t', { description: 'd'.repeat(10_001) })] }],
  [
    'a description of 10,000 characters',
    { name: 'w', tasks: [plain('t', { description: 'd'.repeat(10_000) })] },
  ],
  ['a non-JSON input', { name: 'w', tasks: [plain('t', { input: { at: new Date(0) } })] }],
  ['a cyclic input', { name: 'w', tasks: [plain('t', { input: cyclic })] }],
  ['an array input', { name: 'w', tasks: [plain('t', { input: [1] })] }],
  ['dependsOn not an array', { name: 'w', tasks: [plain('t', { dependsOn: 'x' })] }],
  // biome-ignore lint/suspicious/noSparseArray: a hole is one of the cases.
  ['a sparse dependsOn', { name: 'w', tasks: [plain('t', { dependsOn: [, 'x'] })] }],
  ['a bad dependency id', { name: 'w', tasks: [plain('t', { dependsOn: ['a b'] })] }],
  [
    'one bad task among good ones',
    { name: 'w', tasks: [plain('t1'), plain('t2', { input: 3 }), plain('t3')] },
  ],
  [
    'bad top-level and bad task fields',
    { name: '', maxConcurrency: 0, tasks: [plain('t', { kind: 3 })] },
  ],
];

describe('parseDefinitionShape', () => {
  afterEach(() => vi.restoreAllMocks());

  it.each(cases)('%s: the same result as zod', (_label, input) => expectSameAsZod(input));

  it('checks plain tasks without zod, and hands other tasks to zod', () => {
    const parse = vi.spyOn(taskDefinitionSchema, 'safeParse');
    const tasks = Array.from({ length: 50 }, (_, i) =>
      plain(`t${i}`, i ? { dependsOn: [`t${i - 1}`] } : {}),
    );
    expect(parseDefinitionShape({ name: 'w', tasks }).success).toBe(true);
    expect(parse).not.toHaveBeenCalled();
    expect(
      parseDefinitionShape({
        name: 'w',
        tasks: [...tasks, plain('r', { retry: { maxAttempts: 2 } })],
      }).success,
    ).toBe(true);
    expect(parse).toHaveBeenCalledTimes(1);
  });

  it('the same result as zod for generated definitions', () => {
    const id = fc.oneof(fc.constantFrom('t1', 't2', 'a.b:c-d_e'), fc.string({ maxLength: 4 }));
    const json = fc.jsonValue({ maxDepth: 2 });
    const task = fc.record(
      {
        id,
        agent: fc.oneof(id, fc.constant(undefined)),
        kind: fc.constantFrom('agent', 'approval', 'robot', undefined),
        description: fc.oneof(fc.string({ maxLength: 5 }), fc.integer()),
        input: fc.oneof(fc.dictionary(fc.string({ maxLength: 3 }), json, { maxKeys: 3 }), json),
        dependsOn: fc.oneof(fc.array(id, { maxLength: 3 }), id),
        timeoutMs: fc.oneof(fc.integer({ min: -1, max: 10 }), fc.constant(undefined)),
        extra: fc.anything({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.record(
          {
            name: fc.string({ maxLength: 3 }),
            tasks: fc.array(task, { maxLength: 4 }),
            saga: fc.boolean(),
          },
          { requiredKeys: ['tasks'] },
        ),
        (definition) => expectSameAsZod(definition),
      ),
      { numRuns: 300 },
    );
  });
});
