/**
 * How `troupe pause` and `troupe cancel` reach a run. A LevelDB data folder
 * can be opened by one process at a time, so a command controls the runs of
 * a folder nobody holds (interrupted or paused runs: the control is stored
 * and honoured when the run is recovered), and otherwise says which process
 * holds the folder and what to do. A store that can deliver a command to the
 * process that owns a run (PostgreSQL) plugs in as another {@link RunControl}.
 */
import type { WorkflowState } from '../runtime/workflow/workflow-engine.js';
import { openRuntime } from './store-access.js';
import type { StoreLocation } from './store-location.js';

/** The controls of the runs in one store. */
export interface RunControl {
  pause(workflowId: string): Promise<void>;
  cancel(workflowId: string, options: { reason: string; compensate: boolean }): Promise<void>;
  /** The run's state after the command, as far as this process can tell. */
  state(workflowId: string): Promise<WorkflowState | undefined>;
  close(): Promise<void>;
}

/**
 * Opens the controls of the runs at `location`: a runtime over the store,
 * without agents (a control needs none; a cancelled run ends without running
 * anything). On PostgreSQL the command reaches a run live in another process.
 * @throws TroupeError `STORE_LOCKED` naming the process that holds the folder.
 */
export async function openRunControl(location: StoreLocation): Promise<RunControl> {
  const rt = await openRuntime(
    location,
    "a run it has live can only be controlled there: use that process's inspector controls (troupe demo --inspect), or stop it (Ctrl+C interrupts its run) and run this command again",
  );
  return {
    pause: (id) => rt.engine.pause(id),
    cancel: (id, options) => rt.engine.cancel(id, options),
    state: (id) => rt.engine.getState(id),
    close: () => rt.close(),
  };
}
