/**
 * One elkjs instance for the page, running in a Web Worker served by the
 * inspector (`/elk-worker.js`): layouts of big charts then never block the
 * page, and the main bundle stays small.
 *
 * The worker lays out one graph at a time, and the run's DAG is what a
 * person opening the page looks for first. The workflow machine's statechart
 * takes the worker a while, and its definition arrives before a big run's
 * tasks do, so statechart layouts wait while a run is being opened or its
 * DAG is being laid out ({@link holdCharts}), and while a big live run is
 * shown ({@link StreamHold}: the first layout costs the page a second of
 * CPU, which would come out of the run being watched).
 */
import ELK, { type ElkNode } from 'elkjs/lib/elk-api.js';
import { StreamHold } from './stream-hold.js';

let worker: InstanceType<typeof ELK> | undefined;
/** The worker starts on the first layout: a page whose DAG needs none does not load 1.6 MB of elkjs while it opens. */
const elk = (): InstanceType<typeof ELK> => {
  worker ??= new ELK({ workerUrl: '/elk-worker.js' });
  return worker;
};
/** Longest a statechart waits for a run that is being opened. */
const MAX_HOLD_MS = 2_000;

let dagsPending = 0;
let holdTimer: ReturnType<typeof setTimeout> | undefined;
const waitingCharts: (() => void)[] = [];
const streamHold = new StreamHold({
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
  onRelease: () => startCharts(),
});

/** Lays out a run's DAG, ahead of any statechart still waiting. */
export function layoutDag(graph: ElkNode): Promise<ElkNode> {
  dagsPending++;
  return elk()
    .layout(graph)
    .finally(() => {
      dagsPending--;
      startCharts();
    });
}

/** Lays out a statechart once no run's DAG is waiting for the worker. */
export function layoutChart(graph: ElkNode): Promise<ElkNode> {
  return new Promise<void>((start) => {
    waitingCharts.push(start);
    startCharts();
  }).then(() => elk().layout(graph));
}

/** A run has been asked for: statecharts wait until its DAG is under way (at most {@link MAX_HOLD_MS}). */
export function holdCharts(): void {
  if (holdTimer) clearTimeout(holdTimer);
  holdTimer = setTimeout(releaseCharts, MAX_HOLD_MS);
}

/** The run asked for is drawn (its DAG layout, if any, already asked for). */
export function releaseCharts(): void {
  if (holdTimer) clearTimeout(holdTimer);
  holdTimer = undefined;
  startCharts();
}

/** A big live run is shown: statecharts wait until it ends, 10 s at most ({@link StreamHold}). */
export function chartsWaitForRun(workflowId: string): void {
  streamHold.hold(workflowId);
}

/** No big live run is shown: statecharts need not wait. */
export function chartsStopWaiting(): void {
  streamHold.end();
}

function startCharts(): void {
  if (dagsPending > 0 || holdTimer || streamHold.held) return;
  for (const start of waitingCharts.splice(0)) start();
}
