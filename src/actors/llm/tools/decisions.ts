/**
 * The shared decisions record of a run (stack, file paths, interfaces,
 * ports), kept in the workflow's shared context:
 *
 * - `decisions`: what the planner decided before any task ran;
 * - `decisions/<taskId>`: what each task recorded with `record_decision`.
 *
 * One key per task because the engine merges shared-context updates key by
 * key when a task completes: two tasks running at the same time that both
 * rewrote one `decisions` object would lose each other's decisions.
 */
import { dict } from '../../../schemas/dict.js';

/** One decision and who made it (a role, or `planner`). */
export interface Decision {
  decision: string;
  by: string;
}

/** Decisions by topic. */
export type DecisionRecord = Record<string, Decision>;

/** A topic decided differently by two or more authors. */
export interface DecisionConflict {
  topic: string;
  decisions: Decision[];
}

/** The shared-context key of the planner's decisions. */
export const PLANNED_DECISIONS_KEY = 'decisions';
const TASK_PREFIX = 'decisions/';

/** The shared-context key where task `taskId` keeps the decisions it recorded. */
export function taskDecisionsKey(taskId: string): string {
  return `${TASK_PREFIX}${taskId}`;
}

/** Whether a shared-context key belongs to the decisions record. */
export function isDecisionsKey(key: string): boolean {
  return key === PLANNED_DECISIONS_KEY || key.startsWith(TASK_PREFIX);
}

/**
 * The record as everyone should follow it: the planner's decisions, then each
 * task's in the order they were stored, a later one replacing an earlier one
 * on the same topic; and the topics on which authors disagreed.
 */
export function decisionsOf(shared: Readonly<Record<string, unknown>>): {
  decisions: DecisionRecord;
  conflicts: DecisionConflict[];
} {
  const decisions = dict<Decision>();
  const seen = dict<Decision[]>();
  for (const key of Object.keys(shared)) {
    if (!isDecisionsKey(key)) continue;
    const record = shared[key];
    if (typeof record !== 'object' || record === null) continue;
    for (const [topic, value] of Object.entries(record)) {
      const decision = asDecision(value);
      if (!decision) continue;
      decisions[topic] = decision;
      seen[topic] = [...(seen[topic] ?? []), decision];
    }
  }
  const conflicts: DecisionConflict[] = [];
  for (const [topic, made] of Object.entries(seen)) {
    const distinct = new Set(made.map((d) => normalise(d.decision)));
    if (distinct.size > 1) conflicts.push({ topic, decisions: made });
  }
  return { decisions, conflicts };
}

function asDecision(value: unknown): Decision | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { decision, by } = value as Partial<Decision>;
  return typeof decision === 'string' && typeof by === 'string' ? { decision, by } : undefined;
}

function normalise(text: string): string {
  return text.replace(/\s+/g, ' ').trim().toLowerCase();
}

/**
 * The planner's decisions (a plan's `metadata.decisions`, topic to choice) as
 * the record that starts a run's shared context under `decisions`.
 */
export function plannedDecisions(metadata: Readonly<Record<string, unknown>>): DecisionRecord {
  const record = dict<Decision>();
  const given = metadata.decisions;
  if (typeof given !== 'object' || given === null) return record;
  for (const [topic, decision] of Object.entries(given)) {
    if (typeof decision === 'string') record[topic] = { decision, by: 'planner' };
  }
  return record;
}
