import { z } from 'zod';
import type { WaitSchemas } from '../../actors/agents/wait-schemas.js';
import { TroupeError } from '../../errors.js';
import type { WorkflowContext } from '../../machines/workflow/context.js';
import { openWaits } from '../../machines/workflow/waits.js';
import type { JsonValue } from '../../schemas/json-value.js';
import { formatZodIssues } from '../../schemas/validate.js';
import { checkValue } from '../../schemas/value-check.js';

/**
 * Checks an answer to a wait before it is delivered: the wait must be open
 * and answerable by a signal, and the payload must be JSON that matches the
 * wait's schema: the agent's zod schema when its attempt is live in this
 * process, else the JSON Schema stored with the wait.
 *
 * @throws TroupeError `WAIT_NOT_FOUND` (naming the open waits), `INVALID_INPUT`
 *   (a sleep or a child run cannot be signalled), `INVALID_VALUE` (a payload that is not plain JSON),
 *   `INVALID_SIGNAL` (the payload does not match; the wait goes on).
 */
export function checkSignal(
  context: WorkflowContext,
  name: string,
  payload: unknown,
  schemas: WaitSchemas,
): JsonValue {
  const workflowId = context.workflowId;
  const wait = context.waits?.[name];
  if (wait?.status !== 'waiting') {
    const open = openWaits(context)
      .filter((w) => w.kind !== 'sleep' && w.kind !== 'child')
      .map((w) => `"${w.name}"`);
    throw new TroupeError(
      'WAIT_NOT_FOUND',
      `Workflow "${workflowId}" has no open wait "${name}"; open waits: ${open.join(', ') || 'none'}.`,
      { workflowId, wait: name },
    );
  }
  if (wait.kind === 'sleep' || wait.kind === 'child') {
    throw new TroupeError(
      'INVALID_INPUT',
      `Wait "${name}" of workflow "${workflowId}" is a ${wait.kind === 'sleep' ? 'sleep' : 'child workflow'}; only signal, approval and input waits take an answer.`,
      { workflowId, taskId: wait.taskId, wait: name },
    );
  }
  const json = checkValue(payload, {
    subject: `engine.signal("${workflowId}", "${name}", payload)`,
    root: 'payload',
    freeze: true,
    context: { workflowId, wait: name },
  });
  const schema = schemas.get(workflowId, name) ?? (wait.schema && fromJsonSchema(wait.schema));
  if (!schema) return json;
  const parsed = schema.safeParse(json);
  if (parsed.success) return json;
  const issues = formatZodIssues(parsed.error, 'payload');
  throw new TroupeError(
    'INVALID_SIGNAL',
    `The answer to "${name}" of workflow "${workflowId}" does not match its schema; the task keeps waiting:\n  - ${issues.join('\n  - ')}`,
    { workflowId, taskId: wait.taskId, wait: name, issues },
  );
}

function fromJsonSchema(schema: Record<string, unknown>): z.ZodType | undefined {
  try {
    return z.fromJSONSchema(schema);
  } catch {
    // A schema zod cannot read is enforced by the agent when it resumes.
    return undefined;
  }
}
