/**
 * The evaluations of each workflow name, in the store's `evaluations`
 * collection under `<workflowName>/<seq>` (see store/keys.ts), oldest first.
 *
 * Invariants:
 * - one evaluation per run: evaluating a run again replaces its entry and
 *   keeps its sequence number, so re-running `troupe eval` on an old run does
 *   not add a fake data point to the baseline of the runs after it;
 * - saves of one workflow name are serialised within this process, so two
 *   concurrent evaluations never take the same sequence number;
 * - a stored entry that does not parse is reported (`STORE_CORRUPT`), never
 *   skipped.
 */
import { TroupeError } from '../../errors.js';
import { evaluationKey, parseSeq, prefixRange } from '../../store/keys.js';
import type { RangeOptions, Store } from '../../store/store.js';
import { type WorkflowEvaluation, workflowEvaluationSchema } from './evaluation-schema.js';

/**
 * Workflow names are free text but a key segment may not contain `/`, so `%`
 * and `/` are percent-escaped (only those two: common names stay readable).
 */
export function historyPrefix(workflowName: string): string {
  return workflowName.replaceAll('%', '%25').replaceAll('/', '%2F');
}

export class EvaluationHistory {
  readonly #store: Store;
  readonly #tails = new Map<string, Promise<unknown>>();

  constructor(store: Store) {
    this.#store = store;
  }

  /** Stores `evaluation` and returns it with its `sequence` set. */
  save(evaluation: WorkflowEvaluation): Promise<WorkflowEvaluation> {
    return this.#serialised(evaluation.workflowName, async () => {
      const prefix = historyPrefix(evaluation.workflowName);
      const existing = await this.find(evaluation.workflowName, evaluation.workflowId);
      const sequence = existing?.sequence ?? (await this.#lastSequence(prefix)) + 1;
      const stored = { ...evaluation, sequence };
      await this.#store.batch([
        {
          type: 'put',
          collection: 'evaluations',
          key: evaluationKey(prefix, sequence),
          value: stored,
        },
      ]);
      return stored;
    });
  }

  /** Up to `count` evaluations stored before `sequence` (all, if null), oldest first. */
  async before(
    workflowName: string,
    sequence: number | null,
    count: number,
  ): Promise<WorkflowEvaluation[]> {
    const prefix = historyPrefix(workflowName);
    const bounds = prefixRange(prefix);
    const upper = sequence === null ? { lt: bounds.lt } : { lt: evaluationKey(prefix, sequence) };
    const newest = await this.#read({ gt: bounds.gt, ...upper, reverse: true, limit: count });
    return newest.reverse();
  }

  /** The newest `limit` evaluations, oldest first. */
  recent(workflowName: string, limit: number): Promise<WorkflowEvaluation[]> {
    return this.before(workflowName, null, limit);
  }

  /** The stored evaluation of one run, searched newest first. */
  async find(workflowName: string, workflowId: string): Promise<WorkflowEvaluation | undefined> {
    const range = { ...prefixRange(historyPrefix(workflowName)), reverse: true };
    for await (const [key, value] of this.#store.range<unknown>('evaluations', range)) {
      // Only the match is validated in full: a save scans the whole history
      // of a name, and parsing every entry would make that the slow part.
      const hasId = typeof value === 'object' && value !== null && 'workflowId' in value;
      if (!hasId || value.workflowId === workflowId) return parse(key, value);
    }
    return undefined;
  }

  async #lastSequence(prefix: string): Promise<number> {
    const range = { ...prefixRange(prefix), reverse: true, limit: 1 };
    for await (const [key] of this.#store.range<unknown>('evaluations', range)) {
      return parseSeq(key);
    }
    return 0;
  }

  async #read(range: RangeOptions): Promise<WorkflowEvaluation[]> {
    const evaluations: WorkflowEvaluation[] = [];
    for await (const [key, value] of this.#store.range<unknown>('evaluations', range)) {
      evaluations.push(parse(key, value));
    }
    return evaluations;
  }

  #serialised<T>(workflowName: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(workflowName) ?? Promise.resolve();
    // A failed save must not block the ones queued behind it.
    const next = previous.then(work, work);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(workflowName, tail);
    void tail.then(() => {
      if (this.#tails.get(workflowName) === tail) this.#tails.delete(workflowName);
    });
    return next;
  }
}

function parse(key: string, value: unknown): WorkflowEvaluation {
  const parsed = workflowEvaluationSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new TroupeError(
    'STORE_CORRUPT',
    `Cannot read evaluation ${JSON.stringify(key)} in store collection 'evaluations': it does not match the evaluation format (${issues.slice(0, 3).join('; ')}). Other evaluations are unaffected; delete this record to drop it from the history.`,
    { collection: 'evaluations', key, issues },
  );
}
