import type { CompensationRegistry } from '../../actors/saga/compensations.js';
import { TroupeError } from '../../errors.js';
import { referencedGuards } from '../../schemas/condition.js';
import type { DefinitionRegistry } from '../../schemas/validate.js';
import type { WorkflowDefinition } from '../../schemas/workflow-definition.js';

/**
 * Checks that the code a run needs is registered in this process: an agent
 * for every role, every named guard, and, for a saga, every compensation.
 * Agents and handlers are code, so a run resumed in a new process finds them
 * only if that process registered them too.
 *
 * @throws TroupeError `UNKNOWN_AGENT` naming every missing piece.
 */
export function checkRunnable(
  definition: WorkflowDefinition,
  registry: DefinitionRegistry,
  compensations: CompensationRegistry,
  workflowId?: string,
): void {
  const missing: string[] = [];
  for (const task of definition.tasks) {
    if (task.kind === 'agent' && registry.roles && !registry.roles.has(task.agent))
      missing.push(`agent "${task.agent}" (task "${task.id}")`);
    for (const guard of task.condition ? referencedGuards(task.condition) : []) {
      if (registry.guards && !registry.guards.has(guard))
        missing.push(`guard "${guard}" (task "${task.id}")`);
    }
    if (
      definition.saga &&
      task.compensation &&
      !compensations.get(definition.name, task.compensation)
    ) {
      missing.push(
        `compensation "${task.compensation}" of workflow "${definition.name}" (task "${task.id}")`,
      );
    }
  }
  if (missing.length === 0) return;
  const subject = workflowId ? `workflow run "${workflowId}"` : `workflow "${definition.name}"`;
  throw new TroupeError(
    'UNKNOWN_AGENT',
    `Cannot run ${subject}: not registered in this process: ${[...new Set(missing)].join(', ')}. Register them (rt.registerAgent, rt.registerGuard, engine.registerCompensations) and try again; the stored run is unchanged.`,
    { ...(workflowId ? { workflowId } : {}), issues: missing },
  );
}
