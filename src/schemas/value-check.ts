/**
 * Where a value enters the runtime: the JSON rule of `json-value.ts` and a
 * size limit of `limits.ts`, as one call that returns the value (or its
 * frozen copy) or throws the typed error naming what to change.
 */
import { z } from 'zod';
import { TroupeError, type TroupeErrorContext } from '../errors.js';
import {
  formatJsonIssue,
  type InspectJsonOptions,
  inspectJson,
  inspectJsonObject,
  type JsonInspection,
  type JsonObject,
  type JsonValue,
} from './json-value.js';

/** A size limit as the error names it. */
export interface SizeLimit {
  /** The option's name, for example `maxTaskOutputBytes`. */
  name: string;
  max: number;
  /** How to raise it, for example `createRuntime({ limits: { maxTaskOutputBytes } })`. */
  raise: string;
}

export interface ValueCheck extends InspectJsonOptions {
  /**
   * Names the value in messages: `Task "t1" of workflow "w"`, `sendMessage`.
   * A function is called only when a message is written (hot paths check
   * values that almost always pass, and building the name costs more).
   */
  subject: string | (() => string);
  /** The root of issue paths: `output`, `message.payload`, `updates`. */
  root: string;
  limit?: SizeLimit;
  /** Added to the error's context (workflowId, taskId, ...). */
  context?: TroupeErrorContext;
}

/**
 * The value, checked (or its frozen copy with `freeze`).
 * @throws TroupeError `INVALID_VALUE` with the path of the first bad value,
 * or `VALUE_TOO_LARGE` naming the limit and how to raise it.
 */
export function checkValue(value: unknown, check: ValueCheck): JsonValue {
  return settle(inspectJson(value, check.root, check), check);
}

/** {@link checkValue} for a value that must be a plain object. */
export function checkValueObject(value: unknown, check: ValueCheck): JsonObject {
  return settle(inspectJsonObject(value, check.root, check), check);
}

function subjectOf(check: ValueCheck): string {
  return typeof check.subject === 'function' ? check.subject() : check.subject;
}

function settle<T>(inspection: JsonInspection<T>, check: ValueCheck): T {
  if (!inspection.ok) {
    const issue = formatJsonIssue(inspection.issue);
    throw new TroupeError(
      'INVALID_VALUE',
      `${subjectOf(check)}: ${issue}. Values handed to troupe are stored, so they must be plain JSON (see docs/limits.md).`,
      { ...check.context, path: inspection.issue.path, issues: [issue] },
    );
  }
  const { limit } = check;
  if (limit && inspection.bytes > limit.max) throw tooLarge(check, limit, inspection.bytes);
  return inspection.value;
}

function tooLarge(check: ValueCheck, limit: SizeLimit, bytes: number): TroupeError {
  return new TroupeError(
    'VALUE_TOO_LARGE',
    `${subjectOf(check)}: ${check.root} is about ${formatBytes(bytes)}, over the ${limit.name} limit of ${formatBytes(limit.max)}. Send less (store large data elsewhere and pass a reference), or raise it: ${limit.raise}.`,
    { ...check.context, limit: limit.name, max: limit.max, bytes },
  );
}

function formatBytes(bytes: number): string {
  if (bytes >= 1_048_576) return `${(bytes / 1_048_576).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/**
 * A plain-JSON object as a zod schema, for objects inside larger arguments
 * (task inputs, definition metadata, planner requirements): an issue at the
 * path of the first bad value. The object is kept as given: zod's records
 * would rebuild it and drop a `__proto__` key on the way.
 */
export const jsonObjectSchema = z
  .custom<Record<string, unknown>>(
    (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
    { error: 'must be a plain object' },
  )
  .superRefine((value, ctx) => {
    const inspection = inspectJson(value, '');
    if (!inspection.ok) {
      ctx.addIssue({
        code: 'custom',
        path: inspection.issue.keys,
        message: inspection.issue.reason,
      });
    }
  });
