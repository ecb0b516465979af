/**
 * Invalid workflow definitions: each is rejected before anything starts, with
 * TroupeError INVALID_DEFINITION and a message naming the field and the reason.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createRuntime,
  type Runtime,
  type TaskDefinitionInput,
  TroupeError,
  validateDefinition,
  type WorkflowDefinitionInput,
} from '../../src/index.js';
import { agent, expectTroupeError } from './helpers.js';

let rt: Runtime;
const ran: string[] = [];

beforeEach(async () => {
  ran.length = 0;
  rt = await createRuntime({
    dataDir: false,
    agents: ['backend', 'qa', 'docs'].map((role) =>
      agent(role, (task) => {
        ran.push(task.id);
        return 'ran';
      }),
    ),
  });
  rt.registerGuard('approved', () => true);
});
afterEach(async () => {
  await rt.close();
});

const t = (id: string, more: Partial<TaskDefinitionInput> = {}): TaskDefinitionInput => ({
  id,
  agent: 'backend',
  ...more,
});
const wf = (tasks: unknown[], more: Record<string, unknown> = {}) =>
  ({ name: 'bad', tasks, ...more }) as unknown as WorkflowDefinitionInput;

/** [case, definition, substrings the message must contain] */
const invalid: [string, unknown, string[]][] = [
  ['an empty task list', wf([]), ['tasks: a workflow needs at least one task']],
  [
    'a missing name',
    { tasks: [t('a')] },
    ['name: Invalid input: expected string, received undefined'],
  ],
  ['an empty name', wf([t('a')], { name: '' }), ['name: must not be empty']],
  [
    'a definition that is not an object',
    'tasks: a, b',
    ['(root): Invalid input: expected object, received string'],
  ],
  ['duplicate task ids', wf([t('a'), t('b'), t('a')]), ['tasks[2].id: duplicate task id "a"']],
  [
    'a dangling dependsOn',
    wf([t('a', { dependsOn: ['ghost'] })]),
    ['tasks[0].dependsOn[0]: unknown task "ghost"'],
  ],
  [
    'a self-dependency',
    wf([t('a'), t('b', { dependsOn: ['a', 'b'] })]),
    ['tasks[1].dependsOn[1]: task "b" depends on itself'],
  ],
  [
    'a 2-cycle',
    wf([t('a', { dependsOn: ['b'] }), t('b', { dependsOn: ['a'] })]),
    ['tasks: dependency cycle a -> b -> a'],
  ],
  [
    'a 3-cycle behind an acyclic start',
    wf([
      t('start'),
      t('a', { dependsOn: ['start', 'c'] }),
      t('b', { dependsOn: ['a'] }),
      t('c', { dependsOn: ['b'] }),
    ]),
    ['tasks: dependency cycle a -> b -> c -> a'],
  ],
  [
    'an unknown agent role',
    wf([t('a', { agent: 'wizard' })]),
    ['tasks[0].agent: unknown agent role "wizard"; known roles: backend, docs, qa'],
  ],
  [
    'bad characters in a task id',
    wf([t('has space')]),
    ['tasks[0].id: may only contain letters, digits and _ . : -'],
  ],
  ['an empty task id', wf([t('')]), ['tasks[0].id: must not be empty']],
  [
    'a task id over 200 characters',
    wf([t('x'.repeat(201))]),
    ['tasks[0].id: must be at most 200 characters'],
  ],
  [
    'a negative timeoutMs',
    wf([t('a', { timeoutMs: -5 })]),
    ['tasks[0].timeoutMs: must be more than 0 ms'],
  ],
  [
    'a fractional timeoutMs',
    wf([t('a', { timeoutMs: 1.5 })]),
    ['tasks[0].timeoutMs: must be a whole number of milliseconds'],
  ],
  [
    'a timeoutMs longer than a Node timer can wait',
    wf([t('a', { timeoutMs: 2 ** 31 })]),
    [
      'tasks[0].timeoutMs: must be at most 2147483647 ms (about 24.8 days), the longest delay a Node timer can wait',
    ],
  ],
  [
    'a retry delay longer than a Node timer can wait',
    wf([t('a', { retry: { maxDelayMs: 3e9 } })]),
    [
      'tasks[0].retry.maxDelayMs: must be at most 2147483647 ms (about 24.8 days), the longest delay a Node timer can wait',
    ],
  ],
  [
    'a task input that is not plain JSON',
    wf([t('a', { input: { total: 10n } })]),
    ['tasks[0].input.total: a bigint is not JSON'],
  ],
  [
    'a Date in the metadata',
    wf([t('a')], { metadata: { at: [new Date(0)] } }),
    [
      'metadata.at[0]: a Date is not plain JSON (convert it to a string, number, array or plain object)',
    ],
  ],
  [
    'maxAttempts 0',
    wf([t('a', { retry: { maxAttempts: 0 } })]),
    ['tasks[0].retry.maxAttempts: Too small: expected number to be >=1'],
  ],
  [
    'jitter above 1',
    wf([t('a', { retry: { jitter: 2 } })]),
    ['tasks[0].retry.jitter: Too big: expected number to be <=1'],
  ],
  [
    'maxConcurrency 0',
    wf([t('a')], { maxConcurrency: 0 }),
    ['maxConcurrency: Too small: expected number to be >=1'],
  ],
  [
    'a zero default timeout',
    wf([t('a')], { defaults: { timeoutMs: 0 } }),
    ['defaults.timeoutMs: must be more than 0 ms'],
  ],
  [
    'an unknown task field (strict)',
    wf([{ ...t('a'), dependencies: ['b'] }]),
    ['tasks[0]: Unrecognized key: "dependencies"'],
  ],
  [
    'an unknown workflow field (strict)',
    wf([t('a')], { steps: [] }),
    ['(root): Unrecognized key: "steps"'],
  ],
  [
    'an unsupported formatVersion',
    wf([t('a')], { formatVersion: 2 }),
    ['formatVersion: Invalid input: expected 1'],
  ],
  [
    'dependsOn that is not a list',
    wf([t('a', { dependsOn: 'b' as never })]),
    ['tasks[0].dependsOn: Invalid input: expected array, received string'],
  ],
  [
    'a condition reading a task that is not upstream',
    wf([
      t('a'),
      t('c'),
      t('b', { dependsOn: ['a'], condition: { task: 'c', path: 'output.ok', equals: true } }),
    ]),
    ['tasks[2].condition: reads task "c", which is not upstream of "b" (add it to dependsOn)'],
  ],
  [
    'an unknown guard',
    wf([t('a', { condition: { any: [{ guard: 'approved' }, { guard: 'nope' }] } })]),
    ['tasks[0].condition: unknown guard "nope"; known guards: approved'],
  ],
  [
    'a condition without an operator',
    wf([
      t('a'),
      t('b', { dependsOn: ['a'], condition: { task: 'a', path: 'output.ok' } as never }),
    ]),
    ['tasks[1].condition: not a condition: expected { task, path, equals | notEquals | exists }'],
  ],
  [
    'an empty all-condition',
    wf([t('a', { condition: { all: [] } })]),
    ['tasks[0].condition.all: Too small: expected array to have >=1 items'],
  ],
];

describe('invalid definitions', () => {
  it('has at least 15 cases', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(15);
  });

  it.each(invalid)('rejects %s', async (_name, definition, parts) => {
    const error = await expectTroupeError(
      () => rt.engine.execute(definition as never),
      'INVALID_DEFINITION',
    );
    expect(error.message).toMatch(/^Invalid workflow( "bad")? ?(definition)?:\n {2}- /);
    for (const part of parts) expect(error.message).toContain(part);
    // The issues are also structured, one per problem, each naming its field.
    const issues = error.context.issues!;
    expect(issues.length).toBeGreaterThan(0);
    for (const issue of issues) expect(issue).toMatch(/^[^:]+: \S/);
    // Nothing started, nothing was stored.
    expect(ran).toEqual([]);
    expect(await rt.engine.list()).toEqual([]);
    expect(rt.engine.liveRuns()).toEqual([]);
  });

  it('reports every problem of a definition at once', async () => {
    const error = await expectTroupeError(
      () =>
        rt.engine.execute(
          wf([t('a', { agent: 'wizard', dependsOn: ['ghost'] }), t('a'), t('b', { agent: 'elf' })]),
        ),
      'INVALID_DEFINITION',
    );
    expect(error.context.issues).toEqual([
      'tasks[1].id: duplicate task id "a"',
      'tasks[0].agent: unknown agent role "wizard"; known roles: backend, docs, qa',
      'tasks[0].dependsOn[0]: unknown task "ghost"',
      'tasks[2].agent: unknown agent role "elf"; known roles: backend, docs, qa',
    ]);
  });

  it('checks through validateDefinition without a runtime, and fills in defaults', () => {
    const registry = { roles: new Set(['backend']) };
    expect(() => validateDefinition(wf([t('a', { agent: 'qa' })]), registry)).toThrow(TroupeError);
    // Guards are not checked when the registry does not list them.
    const valid = validateDefinition(
      wf([t('a', { condition: { guard: 'anything' } }), t('b', { dependsOn: ['a'] })]),
      registry,
    );
    expect(valid).toMatchObject({
      formatVersion: 1,
      maxConcurrency: 8,
      defaults: {},
      metadata: {},
      tasks: [
        { id: 'a', description: '', input: {}, dependsOn: [] },
        { id: 'b', dependsOn: ['a'] },
      ],
    });
    // A partial retry policy stays partial: the workflow defaults fill the rest.
    const partial = validateDefinition(
      wf([t('a', { retry: { initialDelayMs: 5 } })], { defaults: { retry: { maxAttempts: 4 } } }),
      registry,
    );
    expect(partial.tasks[0]!.retry).toEqual({ initialDelayMs: 5 });
    expect(partial.defaults.retry).toEqual({ maxAttempts: 4 });
  });

  it('rejects a workflowId that is already in use', async () => {
    await rt.engine.execute(wf([t('ok')]), { workflowId: 'wf-taken' });
    const error = await expectTroupeError(
      () => rt.engine.execute(wf([t('again')]), { workflowId: 'wf-taken' }),
      'INVALID_INPUT',
    );
    expect(error.message).toContain('"wf-taken" already exists');
    expect(ran).toEqual(['ok']);
  });
});
