import type { Runtime } from '../runtime/runtime.js';
import type { EngineEvent } from '../runtime/workflow/engine-events.js';
import type { WorkflowHandle } from '../runtime/workflow/workflow-engine.js';
import type { WorkflowDefinition } from '../schemas/workflow-definition.js';
import type { WorkflowResult } from '../schemas/workflow-result.js';
import { colours } from './format.js';
import { exitCodeOf, listenForInterrupt } from './interrupt.js';
import { LiveAnswers } from './live-answers.js';
import { ProgressView, summaryTable } from './progress-view.js';
import { type StoreLocation, storeArguments } from './store-location.js';

/** Where a command writes; tests pass their own streams. */
export interface CliIo {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
}

/** How a run watched by {@link runWithProgress} ended: with a result, or stopped by a signal. */
export type RunOutcome =
  | { result: WorkflowResult }
  | { interrupted: NodeJS.Signals; workflowId: string; exitCode: number };

/** How to show a run's progress; the store's location is repeated in the resume command printed after Ctrl+C. */
export interface ProgressOptions extends StoreLocation {
  json: boolean;
  colour: boolean;
  /** Print LLM agents' answers as they are written (`llm.token`), with their tool calls. @default stdout is a TTY and the runtime has an LLM (never with `json`) */
  liveAnswers?: boolean;
}

/**
 * Starts (or resumes) a run with live progress (or quietly for `--json`) and
 * prints the summary table. Listens before `start` is called, so the first
 * task's `running` line is shown. On SIGINT or SIGTERM it closes the runtime
 * (aborting in-flight work, flushing the journal, closing the store), which
 * leaves the run interrupted, and prints the command that resumes it.
 */
export async function runWithProgress(
  rt: Runtime,
  definition: WorkflowDefinition,
  start: () => Promise<WorkflowHandle>,
  io: CliIo,
  options: ProgressOptions,
): Promise<RunOutcome> {
  const answers =
    !options.json &&
    (options.liveAnswers ?? (io.out.isTTY === true && rt.options.llm !== undefined))
      ? new LiveAnswers(io.out, options.colour)
      : undefined;
  const view = options.json
    ? undefined
    : new ProgressView(
        definition,
        io.out,
        rt.options.clock,
        options.colour,
        // Answer text is appended: a table redrawn in place would overwrite it.
        io.out.isTTY === true && !answers,
      );
  // Events of the run arrive while `start` runs, before its id is known.
  let workflowId: string | undefined;
  const early: EngineEvent[] = [];
  const show = (event: EngineEvent) => {
    if (event.type.startsWith('llm.')) {
      answers?.handle(event);
      return;
    }
    if (event.type === 'tasks.added') for (const id of event.taskIds) view?.addRow(id, '');
    // Progress ticks print nothing while answers stream: only a state line ends the answer's line.
    if (event.type !== 'task.progress') answers?.endLine();
    view?.handle(event);
  };
  const stop = view
    ? rt.engine.on('*', (event) => {
        if (workflowId === undefined) early.push(event);
        else if (event.workflowId === workflowId) show(event);
      })
    : undefined;
  const interruption = listenForInterrupt();
  try {
    view?.start();
    const handle = await start();
    workflowId = handle.workflowId;
    for (const event of early) if (event.workflowId === workflowId) show(event);
    early.length = 0;
    const finished = handle.result.then((result) => ({ result }));
    // Closing the runtime after a signal rejects the result: nobody awaits it then.
    finished.catch(() => undefined);
    const outcome = await Promise.race([
      finished,
      interruption.signal.then((signal) => ({ signal })),
    ]);
    stop?.();
    answers?.endLine();
    view?.stop();
    if ('signal' in outcome) {
      await rt.close();
      return reportInterrupted(io, options, handle.workflowId, outcome.signal);
    }
    if (!options.json) printSummary(io, outcome.result, options.colour);
    return outcome;
  } finally {
    stop?.();
    view?.stop();
    interruption.dispose();
  }
}

/** The command that resumes a run, with the store's options when they are not the default. */
export function resumeCommandLine(workflowId: string, location: StoreLocation): string {
  return `troupe resume ${workflowId}${storeArguments(location)}`;
}

function reportInterrupted(
  io: CliIo,
  options: ProgressOptions,
  workflowId: string,
  signal: NodeJS.Signals,
): RunOutcome {
  const resume = resumeCommandLine(workflowId, options);
  const message = `Interrupted by ${signal}: run ${workflowId} is stored as interrupted. Resume it with: ${resume}`;
  if (options.json) {
    io.out.write(
      `${JSON.stringify({ error: { code: 'INTERRUPTED', message, workflowId, resume } }, null, 2)}\n`,
    );
  } else {
    io.err.write(`\n${message}\n`);
  }
  return { interrupted: signal, workflowId, exitCode: exitCodeOf(signal) };
}

function printSummary(io: CliIo, result: WorkflowResult, colour: boolean): void {
  const c = colours(colour);
  const verdict = result.success ? c.green(result.status) : c.red(result.status);
  io.out.write(
    `\n${summaryTable(result)}\n\n${c.bold(result.name)} ${verdict} in ${result.totalExecutionTime} ms — run ${result.workflowId}\n`,
  );
  if (result.error) io.out.write(`${c.red(result.error.message)}\n`);
}
