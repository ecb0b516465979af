/**
 * What `evaluateWorkflow` accepts, parsed once at the boundary: the result
 * with its task table and context as null-prototype objects (a task id
 * `__proto__` or `constructor` is a task like any other), and the definition
 * checked exactly as `engine.execute()` checks it, minus the agent registry.
 */

import { z } from 'zod';
import { TroupeError } from '../../errors.js';
import { keyedTable } from '../../schemas/keyed-table.js';
import { type ArgumentSite, parseArgument } from '../../schemas/parse-argument.js';
import { validateDefinition } from '../../schemas/validate.js';
import type { WorkflowDefinition } from '../../schemas/workflow-definition.js';
import {
  taskResultSchema,
  type WorkflowResult,
  workflowResultSchema,
} from '../../schemas/workflow-result.js';

export const evaluatedResultSchema = workflowResultSchema
  .extend({
    tasks: keyedTable(taskResultSchema, 'task results keyed by task id'),
    context: keyedTable(z.unknown(), 'shared-context values keyed by name'),
  })
  .superRefine((result, ctx) => {
    for (const [key, task] of Object.entries(result.tasks)) {
      if (task.taskId !== key) {
        ctx.addIssue({
          code: 'custom',
          path: ['tasks', key, 'taskId'],
          message: `is ${JSON.stringify(task.taskId)}; it must equal its key ${JSON.stringify(key)}`,
        });
      }
    }
  });

const RESULT: ArgumentSite = {
  method: 'WorkflowEvaluator.evaluateWorkflow()',
  argument: 'result',
  fix: 'pass the WorkflowResult that engine.execute() or orchestrator.executeWorkflow() returned',
};

/** @throws TroupeError `INVALID_INPUT` naming the bad fields of `result`. */
export function parseEvaluatedResult(result: unknown): WorkflowResult {
  return parseArgument(evaluatedResultSchema, result, { ...RESULT, context: workflowIdOf(result) });
}

function workflowIdOf(result: unknown): { workflowId?: string } {
  if (typeof result !== 'object' || result === null || !Object.hasOwn(result, 'workflowId')) {
    return {};
  }
  const { workflowId } = result as { workflowId: unknown };
  return typeof workflowId === 'string' ? { workflowId } : {};
}

/**
 * The definition as the engine would run it.
 * @throws TroupeError `INVALID_INPUT` (caused by the `INVALID_DEFINITION`
 * execute() would throw) naming the fields under `options.definition`.
 */
export function parseEvaluatedDefinition(definition: unknown): WorkflowDefinition {
  try {
    return validateDefinition(definition, {});
  } catch (error) {
    if (!(error instanceof TroupeError)) throw error;
    const issues = (error.context.issues ?? [error.message]).map(
      (issue) => `options.definition${issue.startsWith('(root)') ? issue.slice(6) : `.${issue}`}`,
    );
    throw new TroupeError(
      'INVALID_INPUT',
      `WorkflowEvaluator.evaluateWorkflow(): invalid options.definition: ${issues.slice(0, 5).join('; ')}. Fix: pass the definition given to engine.execute() (or the one stored with the run), or leave it out.`,
      { argument: 'options', issues },
      { cause: error },
    );
  }
}
