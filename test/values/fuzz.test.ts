/**
 * Property-based tests (fast-check) over what users hand to troupe:
 * definitions, task outputs and agent effects, messages, shared-context
 * updates, jobs and CLI arguments. Each case ends in success or a typed
 * TroupeError, never a raw error; afterwards the runtime still runs a small
 * workflow and reads every stored run.
 *
 * `TROUPE_FUZZ_RUNS` sets the cases per property (default 40, for `npm test`);
 * a nightly-size run: `TROUPE_FUZZ_RUNS=10000 npx vitest run test/values/fuzz.test.ts`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import {
  createRuntime,
  defineAgent,
  MemoryStore,
  type Runtime,
  TaskQueue,
  TroupeError,
} from '../../src/index.js';

const RUNS = Number(process.env.TROUPE_FUZZ_RUNS ?? 40);
const NIGHTLY = RUNS > 1_000;
/** Nightly sizes take minutes per property; `npm test` sizes a few seconds. */
const TIMEOUT = NIGHTLY ? 3_600_000 : 60_000;
const counts: Record<string, { cases: number; ok: number; typed: Record<string, number> }> = {};

/** Keys that would reach Object.prototype if used carelessly, mixed into every generated object. */
const key = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 8 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'),
  },
);

/** Anything JavaScript has: JSON and everything that is not (BigInt, Date, Map, holes, cycles, functions, ...). */
const anything = fc
  .tuple(
    fc.anything({
      key,
      maxDepth: 3,
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withSparseArray: true,
      withNullPrototype: true,
      withBoxedValues: true,
      withObjectString: true,
    }),
    fc.constantFrom('plain', 'cycle', 'function', 'symbol'),
  )
  .map(([value, twist]) => {
    if (twist === 'plain' || typeof value !== 'object' || value === null) return value;
    const target = value as Record<string, unknown>;
    if (twist === 'cycle') target.self = value;
    if (twist === 'function') target.fn = () => 1;
    if (twist === 'symbol') target.sym = Symbol('s');
    return value;
  });

/** Runs one case: success or a TroupeError is fine, anything else fails the property. */
async function typedOrOk(name: string, action: () => unknown): Promise<void> {
  counts[name] ??= { cases: 0, ok: 0, typed: {} };
  const tally = counts[name];
  tally.cases++;
  try {
    await action();
    tally.ok++;
  } catch (error) {
    if (!(error instanceof TroupeError)) throw error;
    tally.typed[error.code] = (tally.typed[error.code] ?? 0) + 1;
  }
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

let dir: string;
let rt: Runtime;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'troupe-fuzz-'));
  rt = await createRuntime({
    dataDir: dir,
    onError: () => undefined,
    agents: [
      defineAgent({ role: 'echo', concurrency: 50, run: (task) => task.input }),
      defineAgent({
        role: 'hands',
        concurrency: 50,
        run: (task, ctx) => {
          const effects = refs.get(String(task.input.ref)) as Record<string, unknown>;
          const { output, shared, added, progress } = effects;
          if (shared !== undefined) ctx.updateShared(shared as Record<string, unknown>);
          if (added !== undefined) ctx.addTasks(added as never);
          if (progress !== undefined) ctx.progress(0.5, progress as string);
          return output;
        },
      }),
      defineAgent({ role: 'sink', concurrency: 50, run: () => null, onMessage: (m) => m.payload }),
    ],
  });
  rt.queue.register('echo', (ctx) => ctx.args[0]);
  await rt.queue.start();
});

afterAll(async () => {
  await rt.close();
  // The store reopens and every run reads back.
  const again = await createRuntime({
    dataDir: dir,
    agents: [defineAgent({ role: 'echo', run: () => 1 })],
  });
  for (const record of await again.engine.list()) {
    await again.engine.getState(record.workflowId);
  }
  await again.close();
  await rm(dir, { recursive: true, force: true });
  if (NIGHTLY)
    console.log(`fuzz counts (${RUNS} per property): ${JSON.stringify(counts, null, 1)}`);
});

/** After a property: a small workflow still runs and every stored run reads back. */
async function stillWorks(): Promise<void> {
  const result = await rt.engine.execute({
    name: 'canary',
    tasks: [{ id: 'c', agent: 'echo', input: { ok: 1 } }],
  });
  expect(result.status).toBe('completed');
  for (const record of await rt.engine.list()) {
    expect((await rt.engine.getState(record.workflowId))?.workflowId).toBe(record.workflowId);
  }
  await rt.engine.flushed();
}

const params = { numRuns: RUNS };

describe(`fuzz (${RUNS} cases per property; TROUPE_FUZZ_RUNS)`, () => {
  it(
    'workflow definitions',
    async () => {
      const task = fc.record(
        {
          id: fc.oneof(
            fc.constantFrom('a', 'b', 'c', '__proto__', 'constructor'),
            fc.string({ maxLength: 4 }),
          ),
          agent: fc.constantFrom('echo', 'echo', 'ghost', ''),
          input: fc.oneof(fc.dictionary(key, fc.jsonValue({ maxDepth: 2 })), anything),
          dependsOn: fc.array(fc.constantFrom('a', 'b', 'c', 'constructor'), { maxLength: 2 }),
          timeoutMs: fc.oneof(
            fc.integer({ min: 1, max: 60_000 }),
            fc.integer({ min: -5, max: 2 ** 32 }),
            fc.double(),
          ),
          retry: fc.record({
            maxAttempts: fc.integer({ min: 0, max: 3 }),
            initialDelayMs: fc.integer({ min: -1, max: 5 }),
          }),
          extra: anything,
        },
        { requiredKeys: ['id', 'agent'] },
      );
      const definition = fc.oneof(
        anything,
        fc.record(
          {
            name: fc.string({ maxLength: 5 }),
            tasks: fc.array(task, { maxLength: 4 }),
            metadata: anything,
            maxConcurrency: fc.integer(),
          },
          { requiredKeys: ['name', 'tasks'] },
        ),
      );
      await fc.assert(
        // Mostly no context or a JSON one, so most cases reach the definition check and some run.
        fc.asyncProperty(
          definition,
          fc.oneof(
            fc.constant(undefined),
            fc.dictionary(key, fc.jsonValue({ maxDepth: 2 })),
            anything,
          ),
          async (def, context) => {
            await typedOrOk('definitions', async () => {
              const handle = await rt.engine.start(def as never, { context: context as never });
              const result = await handle.result;
              expect(['completed', 'failed']).toContain(result.status);
            });
          },
        ),
        params,
      );
      await stillWorks();
    },
    TIMEOUT,
  );

  it(
    'task outputs, shared-context updates, added tasks and progress from agents',
    async () => {
      const effects = fc.record(
        {
          output: anything,
          shared: anything,
          added: fc.oneof(
            anything,
            fc.array(
              fc.record({
                id: fc.string({ maxLength: 3 }),
                agent: fc.constant('echo'),
                input: anything,
              }),
              { maxLength: 2 },
            ),
          ),
          progress: anything,
        },
        { requiredKeys: [] },
      );
      await fc.assert(
        fc.asyncProperty(effects, async (input) => {
          // The agent hands these over itself: the definition carries only a reference.
          await typedOrOk('agent values', async () => {
            const run = await rt.engine.execute({
              name: 'effects',
              tasks: [{ id: 't', agent: 'hands', input: toInputRef(input) }],
            });
            expect(['completed', 'failed']).toContain(run.status);
            // A failure is typed: a refused value, or an added task the definition check refused.
            for (const result of Object.values(run.tasks)) {
              if (result.status !== 'failed') continue;
              expect(['INVALID_VALUE', 'VALUE_TOO_LARGE', 'INVALID_DEFINITION']).toContain(
                result.error?.code,
              );
            }
          });
        }),
        params,
      );
      await stillWorks();
    },
    TIMEOUT,
  );

  it(
    'messages and shared-context updates',
    async () => {
      const message = fc.oneof(
        anything,
        fc.record(
          {
            from: fc.oneof(fc.constantFrom('user', 'toString', ''), fc.string({ maxLength: 3 })),
            to: fc.oneof(
              fc.constantFrom('sink', 'echo', 'constructor', '*'),
              fc.string({ maxLength: 3 }),
            ),
            type: fc.constantFrom('notification', 'request', 'response', 'error', 'bogus'),
            payload: anything,
            correlationId: fc.oneof(
              fc.constantFrom('__proto__', 'constructor'),
              fc.string({ maxLength: 3 }),
            ),
            workflowId: fc.oneof(
              fc.constantFrom('wf', 'a/b', 'valueOf'),
              fc.string({ maxLength: 3 }),
            ),
          },
          { requiredKeys: [] },
        ),
      );
      await fc.assert(
        fc.asyncProperty(
          message,
          anything,
          anything,
          fc.string({ maxLength: 4 }),
          async (m, updates, options, wf) => {
            const c = rt.communicator;
            await typedOrOk('messages', () => c.sendMessage(m as never));
            await typedOrOk('messages', () => c.broadcast(m as never, options as never));
            await typedOrOk('messages', () => c.request(m as never, { timeout: 0 }));
            await typedOrOk('messages', () => c.getMessageHistory(options as never));
            await typedOrOk('shared updates', () =>
              c.updateSharedContext(wf || 'wf', 'writer', updates as never),
            );
            await typedOrOk('shared updates', () =>
              c.updateSharedContext('wf', 'writer', updates as never, options as never),
            );
            await typedOrOk('shared updates', () => c.getSharedContext(wf as never));
          },
        ),
        params,
      );
      expect((await rt.communicator.getSharedContext('canary')).version).toBe(0);
      await rt.communicator.updateSharedContext('canary', 'w', { ok: 1 });
      await stillWorks();
    },
    TIMEOUT,
  );

  it(
    'jobs',
    async () => {
      const job = fc.oneof(
        anything,
        fc.record(
          {
            id: fc.oneof(
              fc.constantFrom('__proto__', 'constructor', 'a/b', ''),
              fc.string({ maxLength: 4 }),
            ),
            name: fc.oneof(fc.constantFrom('toString', ''), fc.string({ maxLength: 4 })),
            handler: fc.constantFrom('echo', 'missing', ''),
            args: fc.oneof(anything, fc.array(anything, { maxLength: 3 })),
            priority: fc.integer({ min: 0, max: 5 }),
            timeoutSeconds: fc.oneof(fc.double(), fc.integer({ min: -1, max: 3_000_000 })),
            maxRetries: fc.integer({ min: -1, max: 2 }),
          },
          { requiredKeys: ['name', 'handler'] },
        ),
      );
      const standalone = new TaskQueue({ store: new MemoryStore(), maxWorkers: 4 });
      standalone.register('echo', (ctx) => ctx.args[0]);
      await standalone.start();
      await fc.assert(
        fc.asyncProperty(job, anything, async (j, options) => {
          for (const queue of [rt.queue, standalone]) {
            await typedOrOk('jobs', async () => {
              const id = await queue.enqueue(j as never);
              const result = await queue.waitForJob(id, { timeoutMs: 5_000 });
              expect(['completed', 'failed']).toContain(result.status);
            });
            await typedOrOk('jobs', () => queue.getJob(options as never));
            await typedOrOk('jobs', () => queue.waitForJob('nope', options as never));
          }
        }),
        params,
      );
      await standalone.stop();
      const id = await rt.queue.enqueue({ name: 'canary', handler: 'echo', args: [1] });
      expect((await rt.queue.waitForJob(id)).status).toBe('completed');
      await stillWorks();
    },
    TIMEOUT,
  );

  it(
    'CLI arguments (in-process, --json: every error is typed)',
    async () => {
      const cliDir = await mkdtemp(join(tmpdir(), 'troupe-fuzz-cli-'));
      const token = fc.oneof(
        fc.constantFrom(
          'list',
          'show',
          'eval',
          'resume',
          'pause',
          'cancel',
          'help',
          '--help',
          '-h',
          '--version',
          '--status',
          'running',
          'wf-1',
          '--limit',
          '-1',
          '--no-colour',
          '--',
          '=',
          '',
        ),
        fc.string({ maxLength: 6 }),
      );
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(token, { maxLength: 5 }), async (args) => {
            // Commands that start work or serve forever are left to their own tests.
            if (args.some((arg) => ['run', 'demo', 'inspect', 'worker'].includes(arg))) return;
            const out = capture();
            const err = capture();
            const code = await main([...args, '--json', '--data-dir', cliDir], {
              out: out.stream,
              err: err.stream,
            } as never);
            expect([0, 1, 2]).toContain(code);
            counts.cli ??= { cases: 0, ok: 0, typed: {} };
            const tally = counts.cli;
            tally.cases++;
            if (code === 0) tally.ok++;
            const printed = out.text();
            const error = printed.includes('"error"')
              ? (JSON.parse(printed.slice(printed.indexOf('{'))) as { error?: { code: string } })
                  .error
              : undefined;
            if (error) {
              // 'ERROR' is what the CLI prints for an error that is not typed.
              expect(error.code, printed).not.toBe('ERROR');
              tally.typed[error.code] = (tally.typed[error.code] ?? 0) + 1;
            }
          }),
          params,
        );
      } finally {
        await rm(cliDir, { recursive: true, force: true });
      }
    },
    TIMEOUT,
  );
});

/** Values for the `hands` agent: carried by reference in a registry, since a definition would refuse non-JSON inputs. */
const refs = new Map<string, unknown>();
let nextRef = 0;
function toInputRef(value: unknown): Record<string, unknown> {
  const id = `ref-${nextRef++}`;
  refs.set(id, value);
  return { ref: id };
}

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}
