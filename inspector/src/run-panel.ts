/**
 * One workflow run: header with its state and per-status counts (symbol and
 * word, never colour alone), the DAG taking the height left, a virtualised
 * task table, the open waits above the DAG (answered there with the
 * token), and for stored runs their checkpoints (time, reason, state)
 * with Open and, with the token, Fork. Task details open in the drawer.
 * Controls appear only when the server says this page may use them.
 */
import { taskCancelReason } from '../../src/runtime/inspector/cancel-reason.js';
import type { ControlAction } from '../../src/runtime/inspector/protocol.js';
import { createDagView, type DagView } from './dag-view.js';
import {
  fill,
  formatDuration,
  formatTime,
  h,
  perFrame,
  streamRedrawMs,
  streamRunSize,
} from './dom.js';
import { jsonView } from './json-view.js';
import { releaseCharts } from './layout.js';
import type { Model } from './model.js';
import { LEGEND_ORDER, type ShownStatus, shownStatus, statusText } from './status.js';
import { taskDrawer } from './task-drawer.js';
import { VirtualList } from './virtual-list.js';
import { waitsPanel } from './waits-panel.js';

export interface RunPanelActions {
  control: (action: ControlAction, workflowId: string) => void;
  openCheckpoint: (workflowId: string, seq: number) => void;
  fork: (workflowId: string, seq: number) => void;
  /** Starts a new run from a stored run's starting input. */
  replay: (workflowId: string) => void;
  requestTask: (workflowId: string, taskId: string, seq: number | undefined) => void;
  /** Answers an open wait; returns the request id. */
  signal: (workflowId: string, name: string, payload: unknown) => number;
}

export function runPanel(model: Model, actions: RunPanelActions): HTMLElement {
  const header = h('div', { class: 'run-header' });
  const dagHost = h('div', { class: 'dag-host' });
  const extra = h('div', { class: 'run-extra' });
  const tableCount = h('span', { class: 'muted' });
  let order: string[] = [];
  let dag: DagView | undefined;
  let shownRun: unknown;

  const drawer = taskDrawer(model, {
    request: (taskId) => {
      const run = model.run;
      if (run)
        actions.requestTask(
          run.detail.workflowId,
          taskId,
          run.source === 'checkpoint' ? run.checkpointSeq : undefined,
        );
    },
    openTask: (taskId) => select(taskId),
  });
  const select = (taskId: string) => {
    drawer.open(taskId);
    dag?.reveal(taskId);
    table.scrollToIndex(order.indexOf(taskId));
  };
  const table = new VirtualList({
    rowHeight: 28,
    className: 'task-table',
    render: (i) => {
      const task = model.run?.tasks.get(order[i] ?? '');
      if (!task) return h('div', { class: 'row' });
      const status = shownStatus(task);
      return h(
        'button',
        {
          type: 'button',
          class: `row${model.selectedTask === task.id ? ' selected' : ''}`,
          'data-task-row': task.id,
          'data-status': status,
          onclick: () => select(task.id),
        },
        h('span', { class: 'c-id' }, task.id),
        h('span', { class: 'c-agent' }, task.agent),
        h('span', { class: `c-status status-${status}` }, statusText(status)),
        h('span', { class: 'c-attempts' }, String(task.attempts)),
        h('span', { class: 'c-time' }, formatDuration(task.startedAt, task.finishedAt)),
        h(
          'span',
          { class: 'c-output' },
          task.status === 'completed'
            ? (task.output ?? '')
            : (taskCancelReason(task, model.run?.detail.stopReason) ??
                task.error ??
                task.progressMessage ??
                task.output ??
                ''),
        ),
      );
    },
  });
  const tasksPanel = h(
    'div',
    { class: 'tasks-panel', role: 'region', 'aria-label': 'Tasks' },
    h('h3', { class: 'tasks-title' }, 'Tasks', tableCount),
    h(
      'div',
      { class: 'table-head', 'aria-hidden': 'true' },
      ...['task', 'agent', 'status', 'attempts', 'time', 'output'].map((t) => h('span', {}, t)),
    ),
    table.element,
  );
  const root = h(
    'section',
    { class: 'panel run', 'data-testid': 'run-panel', 'aria-label': 'Run' },
    header,
    waitsPanel(model, { signal: actions.signal, openTask: (taskId) => select(taskId) }),
    dagHost,
    tasksPanel,
    extra,
    drawer.element,
  );

  const drawHeader = () => {
    const run = model.run;
    if (!run) {
      fill(
        header,
        h('h2', {}, 'Run'),
        h(
          'p',
          { class: 'muted' },
          'No run yet. A run opens here as soon as one starts or is stored; stored runs are listed under Runs.',
        ),
      );
      return;
    }
    const live = run.source === 'live' ? model.runActor(run.detail.workflowId) : undefined;
    const state = live?.run?.state ?? run.detail.state;
    const counts = new Map<ShownStatus, number>();
    for (const task of run.tasks.values()) {
      const s = shownStatus(task);
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    const canControl = model.controls && live !== undefined;
    const button = (action: ControlAction, label: string, enabled: boolean) =>
      h(
        'button',
        {
          type: 'button',
          class: `control ${action}`,
          'data-action': action,
          disabled: !enabled,
          onclick: () => actions.control(action, run.detail.workflowId),
        },
        label,
      );
    fill(
      header,
      h(
        'h2',
        // Focusable by script: where the focus goes when a fork or a replay opens a run.
        { id: 'run-title', tabindex: -1 },
        h('span', { class: 'run-name', 'data-testid': 'run-name' }, run.detail.name),
        h(
          'span',
          { class: `badge state-${state}`, 'data-testid': 'run-state', 'data-run-status': state },
          state,
        ),
        run.source === 'live'
          ? null
          : h(
              'span',
              { class: 'badge readonly' },
              run.source === 'checkpoint'
                ? `checkpoint ${run.checkpointSeq ?? ''} (read-only)`
                : 'stored (read-only)',
            ),
      ),
      h(
        'p',
        { class: 'muted run-meta' },
        run.detail.workflowId,
        run.detail.startedAt ? ` · started ${formatTime(run.detail.startedAt)}` : '',
        run.detail.finishedAt ? ` · ended ${formatTime(run.detail.finishedAt)}` : '',
      ),
      run.detail.error
        ? h('p', { class: 'error run-error', role: 'alert' }, run.detail.error)
        : null,
      h(
        'div',
        { class: 'counts', 'aria-label': 'Tasks per status' },
        ...LEGEND_ORDER.concat(['compensating'])
          .filter((s) => counts.get(s))
          .map((s) =>
            h(
              'span',
              { class: `count status-${s}`, 'data-count': s },
              `${statusText(s)} ${counts.get(s)}`,
            ),
          ),
      ),
      canControl
        ? h(
            'div',
            {
              class: 'controls',
              'data-testid': 'controls',
              role: 'group',
              'aria-label': 'Run controls',
            },
            button('pause', 'Pause', state === 'running'),
            button('resume', 'Resume', state === 'paused'),
            button(
              'cancel',
              'Cancel',
              state === 'running' || state === 'paused' || state === 'failing',
            ),
          )
        : null,
    );
  };

  const drawExtra = () => {
    const run = model.run;
    if (!run || run.source === 'live') {
      fill(extra);
      return;
    }
    const workflowId = run.detail.workflowId;
    fill(
      extra,
      model.controls && run.source === 'stored' ? replayBox(workflowId, run.replayBlocked) : null,
      h(
        'details',
        { class: 'checkpoints-panel', open: true },
        h(
          'summary',
          {},
          h('span', { class: 'summary-title' }, 'Checkpoints'),
          h('span', { class: 'muted' }, String(run.checkpoints.length)),
        ),
        run.checkpoints.length === 0
          ? h('p', { class: 'muted' }, 'No checkpoints stored for this run.')
          : h(
              'table',
              { class: 'checkpoints', 'data-testid': 'checkpoints' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ...['#', 'taken', 'reason', 'state', 'completed', ''].map((t) =>
                    h('th', { scope: 'col' }, t),
                  ),
                ),
              ),
              h(
                'tbody',
                {},
                ...run.checkpoints.map((c) =>
                  h(
                    'tr',
                    { 'data-seq': c.seq, class: run.checkpointSeq === c.seq ? 'selected' : '' },
                    h('td', {}, String(c.seq)),
                    h('td', {}, formatTime(c.takenAt)),
                    h('td', {}, c.reason),
                    h('td', {}, c.state),
                    h('td', {}, String(c.completedTasks)),
                    h(
                      'td',
                      { class: 'actions' },
                      h(
                        'button',
                        {
                          type: 'button',
                          class: 'checkpoint',
                          'data-seq': c.seq,
                          'aria-label': `Open checkpoint ${c.seq}`,
                          onclick: () => actions.openCheckpoint(workflowId, c.seq),
                        },
                        'Open',
                      ),
                      model.controls
                        ? h(
                            'button',
                            {
                              type: 'button',
                              class: 'fork',
                              'data-fork': c.seq,
                              'aria-label': `Fork a new run from checkpoint ${c.seq}`,
                              onclick: () => actions.fork(workflowId, c.seq),
                            },
                            'Fork',
                          )
                        : null,
                    ),
                  ),
                ),
              ),
            ),
      ),
      run.raw === undefined
        ? null
        : h(
            'details',
            { class: 'raw', open: true },
            h('summary', {}, `Checkpoint ${run.checkpointSeq ?? ''} content`),
            h('div', { class: 'json' }, jsonView(run.raw as never, 2)),
          ),
    );
  };

  const replayBox = (workflowId: string, blocked: string | undefined) =>
    h(
      'div',
      { class: 'replay-box', role: 'group', 'aria-label': 'Replay' },
      h(
        'button',
        {
          type: 'button',
          class: 'replay',
          'data-testid': 'replay',
          disabled: blocked !== undefined,
          'aria-describedby': 'replay-note',
          onclick: () => actions.replay(workflowId),
        },
        'Replay',
      ),
      h(
        'span',
        { class: 'muted', id: 'replay-note', 'data-testid': 'replay-note' },
        blocked === undefined
          ? 'Runs this definition again from the input it started with, as a new run.'
          : `Replay is not possible: ${blocked}.`,
      ),
    );

  const redrawRun = perFrame(() => {
    const run = model.run;
    if (run !== shownRun) {
      shownRun = run;
      order = run ? [...run.tasks.keys()] : [];
      streamRunSize(order.length);
      dag = run ? createDagView(run, select) : undefined;
      fill(dagHost, dag?.element);
      releaseCharts();
      run?.changed.clear();
      drawer.close();
      drawExtra();
    } else if (run && dag) {
      dag.update(run, run.changed);
      drawer.changed(run.changed);
      run.changed.clear();
    }
    drawHeader();
    if (model.selectedTask) drawer.draw();
    tableCount.textContent = ` ${order.length}`;
    table.update(order.length);
  }, streamRedrawMs);
  model.on('run', () => {
    shownRun = undefined;
    // A newly opened run is drawn in the next frame, not after the stream's redraw gap.
    redrawRun(true);
  });
  model.on('run.tasks', redrawRun);
  model.on('actors', redrawRun);
  model.on('status', redrawRun);
  model.on('task', () => drawer.draw());
  redrawRun();
  return root;
}
