/**
 * Checks an answer typed into the page against the wait's JSON Schema
 * before it is sent, with the same conversion the runtime uses
 * (`z.fromJSONSchema`), so the person sees what is wrong at once. The
 * runtime checks again (`engine.signal`) and stays the authority: an answer
 * it refuses comes back as an `INVALID_SIGNAL` reply and the task keeps
 * waiting.
 */
import { z } from 'zod';
import type { JsonPreview } from '../../src/runtime/inspector/protocol.js';

// The page's Content-Security-Policy forbids eval; zod must not probe for it.
z.config({ jitless: true });

export type AnswerCheck = { ok: true; payload: unknown } | { ok: false; issues: string[] };

/** Parses `text` as JSON and checks it against `schema` (none: any JSON). */
export function checkAnswer(text: string, schema: JsonPreview | undefined): AnswerCheck {
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (error) {
    return { ok: false, issues: [`not JSON: ${(error as Error).message}`] };
  }
  return checkPayload(payload, schema);
}

/** Checks a value against `schema` (none: anything). */
export function checkPayload(payload: unknown, schema: JsonPreview | undefined): AnswerCheck {
  const zodSchema = toZod(schema);
  if (!zodSchema) return { ok: true, payload };
  const parsed = zodSchema.safeParse(payload);
  if (parsed.success) return { ok: true, payload };
  return {
    ok: false,
    issues: parsed.error.issues.map(
      (issue) => `${['answer', ...issue.path.map(String)].join('.')}: ${issue.message}`,
    ),
  };
}

function toZod(schema: JsonPreview | undefined): z.ZodType | undefined {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return undefined;
  try {
    return z.fromJSONSchema(schema);
  } catch {
    // A schema zod cannot read is left to the runtime's check.
    return undefined;
  }
}
