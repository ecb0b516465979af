/**
 * Task-level changes of the runs pages are looking at. A 10,000-task run's
 * context is far too big to send per change, so the page gets the whole run
 * once ({@link RunDetail}) and then only the tasks that changed, named by the
 * engine's typed events (`task.started`, `task.completed`, ...) and read from
 * the run's context when the batch is sent, coalesced per task.
 */
import type { AnyActorRef } from 'xstate';
import { workflowSystemId } from '../../machines/protocol.js';
import type { EngineEvent as WorkflowEmitted } from '../workflow/engine-events.js';
import type { RunDetail, TaskDelta } from './protocol.js';
import { isWorkflowContext, runDetailFromContext, taskDelta, toStateValue } from './run-view.js';

interface Watched {
  ref: AnyActorRef;
  watchers: number;
  dirty: Set<string>;
  /** Tasks were added: send the whole run again. */
  reshaped: boolean;
}

export interface RunChanges {
  workflowId: string;
  tasks: TaskDelta[];
  /** Set when the run's shape changed; replaces `tasks`. */
  detail?: RunDetail;
}

export class RunWatch {
  private readonly runs = new Map<string, Watched>();

  constructor(
    private readonly deps: {
      lookup: (systemId: string) => AnyActorRef | undefined;
      onChange: () => void;
    },
  ) {}

  /** For `engine.on('*')`: O(1) for runs nobody watches. */
  readonly listener = (event: WorkflowEmitted): void => {
    const watched = this.runs.get(event.workflowId);
    if (!watched) return;
    if (event.type === 'tasks.added') watched.reshaped = true;
    else if ('taskId' in event) watched.dirty.add(event.taskId);
    else return;
    this.deps.onChange();
  };

  /**
   * Starts watching a live run and returns it whole, or undefined if no such
   * run is live. Keeps the run's actor reference until the last watcher
   * leaves, so the final changes can be read after the run has ended.
   */
  watch(workflowId: string): RunDetail | undefined {
    let watched = this.runs.get(workflowId);
    if (!watched) {
      const ref = this.deps.lookup(workflowSystemId(workflowId));
      if (!ref) return undefined;
      watched = { ref, watchers: 0, dirty: new Set(), reshaped: false };
      this.runs.set(workflowId, watched);
    }
    const detail = this.detail(watched);
    if (!detail) return undefined;
    watched.watchers++;
    return detail;
  }

  unwatch(workflowId: string): void {
    const watched = this.runs.get(workflowId);
    if (!watched) return;
    if (--watched.watchers <= 0) this.runs.delete(workflowId);
  }

  /** Changes since the last call, per watched run that changed. */
  collect(): RunChanges[] {
    const out: RunChanges[] = [];
    for (const [workflowId, watched] of this.runs) {
      if (watched.reshaped) {
        watched.reshaped = false;
        watched.dirty.clear();
        const detail = this.detail(watched);
        if (detail) out.push({ workflowId, tasks: [], detail });
        continue;
      }
      if (watched.dirty.size === 0) continue;
      const context = contextOf(watched.ref);
      const tasks: TaskDelta[] = [];
      if (context) {
        for (const taskId of watched.dirty) {
          const delta = taskDelta(context, taskId);
          if (delta) tasks.push(delta);
        }
      }
      watched.dirty.clear();
      out.push({ workflowId, tasks });
    }
    return out;
  }

  private detail(watched: Watched): RunDetail | undefined {
    const snapshot = watched.ref.getSnapshot() as { value?: unknown; status?: string };
    const context = contextOf(watched.ref);
    if (!context) return undefined;
    return runDetailFromContext(
      context,
      toStateValue(snapshot.value),
      snapshot.status === 'active',
    );
  }
}

function contextOf(ref: AnyActorRef) {
  const context = (ref.getSnapshot() as { context?: unknown }).context;
  return isWorkflowContext(context) ? context : undefined;
}
