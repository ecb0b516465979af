import type { Runtime } from '../runtime/runtime.js';
import type { WorkflowDefinition } from '../schemas/workflow-definition.js';
import type { WorkflowResult } from '../schemas/workflow-result.js';
import { colours } from './format.js';
import { ProgressView, summaryTable } from './progress-view.js';

/** Where a command writes; tests pass their own streams. */
export interface CliIo {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
}

/**
 * Runs a definition with live progress (or quietly for `--json`), then prints
 * the summary table. Shared by `demo` and `run`.
 */
export async function runWithProgress(
  rt: Runtime,
  definition: WorkflowDefinition,
  io: CliIo,
  options: { json: boolean; context?: Record<string, unknown> },
): Promise<WorkflowResult> {
  const view = options.json ? undefined : new ProgressView(definition, io.out, rt.options.clock);
  const handle = await rt.engine.start(
    definition,
    options.context ? { context: options.context } : {},
  );
  const stop = view
    ? rt.engine.on('*', (event) => {
        if (event.workflowId !== handle.workflowId) return;
        if (event.type === 'tasks.added') {
          for (const id of event.taskIds) view.addRow(id, '');
        }
        view.handle(event);
      })
    : undefined;
  view?.start();
  const result = await handle.result;
  stop?.();
  view?.stop();
  if (!options.json) {
    const c = colours(io.out.isTTY === true);
    const verdict = result.success ? c.green(result.status) : c.red(result.status);
    io.out.write(
      `\n${summaryTable(result)}\n\n${c.bold(result.name)} ${verdict} in ${result.totalExecutionTime} ms — run ${result.workflowId}\n`,
    );
    if (result.error) io.out.write(`${c.red(result.error.message)}\n`);
  }
  return result;
}
