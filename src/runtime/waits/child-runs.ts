import { serializeError, TroupeError } from '../../errors.js';
import type { ChildSpec } from '../../machines/protocol.js';
import type { WorkflowDefinitionInput } from '../../schemas/workflow-definition.js';
import type { WorkflowResult } from '../../schemas/workflow-result.js';

/** What child runs need from the engine. */
export interface ChildHost {
  /** The stored or live run, resumed if it was interrupted; null if there is none. */
  recover(workflowId: string): Promise<{ result: Promise<WorkflowResult> } | null>;
  start(
    definition: WorkflowDefinitionInput,
    options: { workflowId: string; context: Record<string, unknown>; parent: ParentLink },
  ): Promise<{ result: Promise<WorkflowResult> }>;
  /** Hands a child's result to its parent's wait, if the parent is live here. */
  deliver(parentId: string, wait: string, result: WorkflowResult): void;
  cancel(workflowId: string, options: { reason: string; compensate: boolean }): void;
  isLive(workflowId: string): boolean;
  onError(error: unknown, context: string): void;
}

/** Where a child run reports: its parent and the wait that holds the parent's task. */
export interface ParentLink {
  workflowId: string;
  wait: string;
}

/**
 * Starts child runs for the waits that ask for them, and hands each child's
 * result to its parent. Idempotent: a parent restored after a crash asks
 * again, and finds the child stored (resumed, or ended with its result) under
 * the same id, derived from its own.
 */
export class ChildRuns {
  private readonly definitions = new Map<string, WorkflowDefinitionInput>();
  /** Children whose result is awaited in this process. */
  private readonly attached = new Set<string>();

  constructor(private readonly host: ChildHost) {}

  /** Makes a definition available to `workflow` tasks and `ctx.startChild` by its name. */
  register(definition: WorkflowDefinitionInput): void {
    this.definitions.set(definition.name, definition);
  }

  names(): ReadonlySet<string> {
    return new Set(this.definitions.keys());
  }

  /** A parent's wait asks for its child: found again, or started. */
  attach(parentId: string, wait: string, spec: ChildSpec): void {
    if (this.attached.has(spec.id)) return;
    this.attached.add(spec.id);
    this.run(parentId, wait, spec)
      .then((result) => this.host.deliver(parentId, wait, result))
      .catch((error) => this.host.onError(error, `child workflow "${spec.id}"`))
      .finally(() => this.attached.delete(spec.id));
  }

  cancel(childId: string, reason: string, compensate: boolean): void {
    if (this.host.isLive(childId)) this.host.cancel(childId, { reason, compensate });
  }

  private async run(parentId: string, wait: string, spec: ChildSpec): Promise<WorkflowResult> {
    let handle = await this.host.recover(spec.id);
    if (!handle) {
      try {
        const definition =
          (spec.definition as WorkflowDefinitionInput | undefined) ??
          this.definitions.get(spec.name ?? '');
        if (!definition) {
          throw new TroupeError(
            'INVALID_DEFINITION',
            `No workflow named "${spec.name}" is registered for child "${spec.id}"; register it with engine.registerWorkflow(definition).`,
            { workflowId: parentId },
          );
        }
        handle = await this.host.start(definition, {
          workflowId: spec.id,
          context: spec.input ?? {},
          parent: { workflowId: parentId, wait },
        });
      } catch (error) {
        // A child that cannot start fails the parent's task, with the reason.
        return failedStart(spec.id, error);
      }
    }
    return handle.result;
  }
}

function failedStart(workflowId: string, error: unknown): WorkflowResult {
  return {
    workflowId,
    name: '',
    status: 'failed',
    success: false,
    tasks: {},
    totalExecutionTime: 0,
    startedAt: 0,
    finishedAt: 0,
    context: {},
    error: serializeError(error),
  };
}
