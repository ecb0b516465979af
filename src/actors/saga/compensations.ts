import { TroupeError } from '../../errors.js';

/** What a compensation handler is told about the task it undoes. */
export interface CompensationContext {
  workflowId: string;
  taskId: string;
  /** The output of the task being undone. */
  output: unknown;
  /** 1 for the first attempt of this compensation. */
  attempt: number;
  /** `workflowId:taskId:compensate`: stable across attempts and restarts. */
  idempotencyKey: string;
  /** Aborted when the runtime closes. */
  signal: AbortSignal;
}

/** Undoes one completed task in a saga; gets its output and a stable idempotency key. Throwing fails the compensation. */
export type CompensationHandler = (ctx: CompensationContext) => Promise<unknown> | unknown;

/**
 * Compensation handlers, registered per workflow name so a run resumed in
 * another process finds them again once the same code has registered them.
 */
export class CompensationRegistry {
  private readonly byWorkflow = new Map<string, Map<string, CompensationHandler>>();

  register(workflowName: string, handlers: Readonly<Record<string, CompensationHandler>>): void {
    let scope = this.byWorkflow.get(workflowName);
    if (!scope) {
      scope = new Map();
      this.byWorkflow.set(workflowName, scope);
    }
    for (const [name, handler] of Object.entries(handlers)) {
      if (typeof handler !== 'function') {
        throw new TroupeError(
          'INVALID_INPUT',
          `Compensation "${name}" of workflow "${workflowName}" must be a function.`,
        );
      }
      scope.set(name, handler);
    }
  }

  get(workflowName: string, name: string): CompensationHandler | undefined {
    return this.byWorkflow.get(workflowName)?.get(name);
  }
}
