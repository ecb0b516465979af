/**
 * How `troupe pause` and `troupe cancel` reach a run. A LevelDB data folder
 * can be opened by one process at a time, so a command controls the runs of
 * a folder nobody holds (interrupted or paused runs: the control is stored
 * and honoured when the run is recovered), and otherwise says which process
 * holds the folder and what to do. A store that can deliver a command to the
 * process that owns a run (PostgreSQL) plugs in as another {@link RunControl}.
 */
import type { WorkflowState } from '../runtime/workflow/workflow-engine.js';
import { explainLocked } from './store-access.js';

/** The controls of the runs in one data folder. */
export interface RunControl {
  pause(workflowId: string): Promise<void>;
  cancel(workflowId: string, options: { reason: string; compensate: boolean }): Promise<void>;
  /** The run's state after the command, as far as this process can tell. */
  state(workflowId: string): Promise<WorkflowState | undefined>;
  close(): Promise<void>;
}

/**
 * Opens the controls of `dataDir`: a runtime over the folder, without agents
 * (a control needs none; a cancelled run ends without running anything).
 * @throws TroupeError `STORE_LOCKED` naming the process that holds the folder.
 */
export async function openRunControl(dataDir: string): Promise<RunControl> {
  const { createRuntime } = await import('../runtime/runtime.js');
  const rt = await createRuntime({ dataDir }).catch((error) => {
    throw explainLocked(
      error,
      dataDir,
      "a run it has live can only be controlled there: use that process's inspector controls (troupe demo --inspect), or stop it (Ctrl+C interrupts its run) and run this command again",
    );
  });
  return {
    pause: (id) => rt.engine.pause(id),
    cancel: (id, options) => rt.engine.cancel(id, options),
    state: (id) => rt.engine.getState(id),
    close: () => rt.close(),
  };
}
