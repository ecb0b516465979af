/**
 * Property tests over the evaluator's inputs (options, results, definitions,
 * evaluations): every call ends in a result or a TroupeError, never a raw
 * error, and every evaluation it returns is plain JSON that its own schema
 * accepts. `TROUPE_FUZZ_RUNS` sets the number of cases (nightly: 10000).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { workflowEvaluationSchema } from '../../src/actors/evaluator/evaluation-schema.js';
import { TroupeError, WorkflowEvaluator } from '../../src/index.js';
import { fuzzRuns } from '../fuzz-runs.js';
import { diamond } from './fixtures.js';

const RUNS = fuzzRuns(150);
/** Room for a nightly-size run on a slow machine. */
const TIMEOUT = 20_000 + RUNS * 30;

const userKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'a', 'b'),
  fc.string({ maxLength: 8 }),
);
const number = fc.oneof(
  fc.integer({ min: -5, max: 5_000 }),
  fc.double(),
  fc.constantFrom(0, -1, Number.MAX_VALUE, Number.MIN_VALUE, 8.64e15, 2 ** 53),
);
const status = fc.oneof(
  fc.constantFrom('completed', 'failed', 'skipped', 'cancelled', 'pending', 'running'),
  fc.string({ maxLength: 4 }),
);
/** A value that is sometimes right and sometimes anything at all. */
const maybe = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: fc.anything() });

/** Dictionaries through JSON, so `__proto__` is an own key as in a stored result. */
const table = <T>(value: (key: string) => fc.Arbitrary<T>) =>
  fc
    .uniqueArray(userKey, { maxLength: 6 })
    .chain((keys) => fc.tuple(...keys.map((key) => value(key).map((v) => [key, v] as const))))
    .map((entries) =>
      JSON.parse(
        `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v ?? null)}`).join(',')}}`,
      ),
    );

const taskResult = (key: string) =>
  fc.record(
    {
      taskId: fc.oneof(
        { weight: 5, arbitrary: fc.constant(key) },
        { weight: 1, arbitrary: userKey },
      ),
      agent: maybe(fc.constantFrom('worker', 'qa')),
      status: maybe(status),
      attempts: maybe(fc.integer({ min: 0, max: 5 })),
      startedAt: maybe(number),
      finishedAt: maybe(number),
      output: fc.jsonValue(),
      error: maybe(fc.record({ name: fc.string(), message: fc.string(), code: fc.string() })),
    },
    { requiredKeys: ['taskId', 'agent', 'status', 'attempts'] },
  );

const result = fc.record({
  workflowId: maybe(fc.string({ minLength: 1, maxLength: 10 })),
  name: maybe(fc.constantFrom('fuzz', 'other', 'a/b%c')),
  status: maybe(fc.constantFrom('completed', 'failed', 'cancelled', 'running')),
  success: maybe(fc.boolean()),
  tasks: maybe(table(taskResult)),
  totalExecutionTime: maybe(number),
  startedAt: maybe(number),
  finishedAt: maybe(number),
  context: maybe(table(() => fc.jsonValue())),
});

const definitionTask = fc.record(
  {
    id: maybe(userKey),
    agent: maybe(fc.constantFrom('worker', 'qa')),
    dependsOn: maybe(fc.array(userKey, { maxLength: 3 })),
    timeoutMs: maybe(fc.integer({ min: 1, max: 10_000 })),
    condition: fc.anything(),
  },
  { requiredKeys: ['id', 'agent'] },
);
const definition = fc.record(
  {
    name: maybe(fc.constantFrom('fuzz', 'other')),
    tasks: maybe(fc.array(definitionTask, { maxLength: 5 })),
  },
  { requiredKeys: ['name', 'tasks'] },
);

const evaluatorOptions = fc.oneof(
  fc.anything(),
  fc.record(
    {
      weights: maybe(
        fc.record({ success: maybe(number), schedule: maybe(number) }, { requiredKeys: [] }),
      ),
      thresholds: maybe(
        fc.record({ excellent: maybe(number), good: maybe(number) }, { requiredKeys: [] }),
      ),
      timingResolutionMs: maybe(number),
      regression: maybe(
        fc.record({ k: maybe(number), metrics: fc.anything() }, { requiredKeys: [] }),
      ),
      weigths: fc.anything(),
    },
    { requiredKeys: [] },
  ),
);

/** Runs `action`; a TroupeError is an answer, anything else thrown fails the property. */
async function typedOrValue<T>(action: () => Promise<T> | T): Promise<T | TroupeError> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof TroupeError) return error;
    throw new Error(`raw error escaped: ${String(error)}`, { cause: error });
  }
}

function expectPlainEvaluation(value: unknown): void {
  if (value instanceof TroupeError) return;
  const copy = JSON.parse(JSON.stringify(value));
  expect(workflowEvaluationSchema.parse(copy)).toEqual(value);
}

describe('evaluator fuzz', () => {
  it(
    'new WorkflowEvaluator(anything): an evaluator or a TroupeError',
    async () => {
      await fc.assert(
        fc.asyncProperty(evaluatorOptions, async (options) => {
          const made = await typedOrValue(() => new WorkflowEvaluator(options as never));
          if (made instanceof TroupeError) {
            expect(made.code).toBe('INVALID_INPUT');
            return;
          }
          expectPlainEvaluation(await typedOrValue(() => made.evaluateWorkflow(diamond().result)));
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    'evaluateWorkflow(result, { definition }): an evaluation or a TroupeError',
    async () => {
      const evaluator = new WorkflowEvaluator();
      await fc.assert(
        fc.asyncProperty(
          fc.oneof({ weight: 1, arbitrary: fc.anything() }, { weight: 6, arbitrary: result }),
          fc.option(maybe(definition), { nil: undefined }),
          async (run, def) => {
            const options = def === undefined ? {} : { definition: def };
            expectPlainEvaluation(
              await typedOrValue(() => evaluator.evaluateWorkflow(run as never, options as never)),
            );
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    'detectRegression(anything): a report or a TroupeError',
    async () => {
      const evaluator = new WorkflowEvaluator();
      const real = await evaluator.evaluateWorkflow(diamond().result);
      const evaluation = fc.oneof(
        fc.anything(),
        fc
          .record({ score: number, workflowName: fc.string() })
          .map((patch) => ({ ...real, ...patch })),
        fc.constant(real),
      );
      await fc.assert(
        fc.asyncProperty(evaluation, fc.anything(), async (value, options) => {
          const report = await typedOrValue(() =>
            evaluator.detectRegression(value as never, options as never),
          );
          if (!(report instanceof TroupeError))
            expect(typeof report.regressionDetected).toBe('boolean');
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );
});
