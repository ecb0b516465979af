/**
 * One workflow run: header with its state and per-status counts, the DAG,
 * a virtualised task table, the selected task's details and, for stored
 * runs, their checkpoints. Controls appear only when the server says this
 * page may use them, and only for a live run.
 */
import type {
  ControlAction,
  TaskStatusName,
  TaskView,
} from '../../src/runtime/inspector/protocol.js';
import { createDagView, type DagView, STATUS_COLOURS } from './dag-view.js';
import { fill, formatDuration, formatTime, h, perFrame } from './dom.js';
import type { Model } from './model.js';
import { VirtualList } from './virtual-list.js';

export interface RunPanelActions {
  control: (action: ControlAction, workflowId: string) => void;
  openCheckpoint: (workflowId: string, seq: number) => void;
}

const STATUSES = Object.keys(STATUS_COLOURS) as TaskStatusName[];

export function runPanel(model: Model, actions: RunPanelActions): HTMLElement {
  const header = h('div', { class: 'run-header' });
  const dagHost = h('div', { class: 'dag-host' });
  const detail = h('div', { class: 'task-detail', 'data-testid': 'task-detail' });
  const extra = h('div', { class: 'run-extra' });
  let order: string[] = [];
  let dag: DagView | undefined;
  let shownRun: unknown;

  const select = (taskId: string) => {
    model.selectedTask = taskId;
    drawDetail();
    table.scrollToIndex(order.indexOf(taskId));
  };
  const table = new VirtualList({
    rowHeight: 24,
    className: 'task-table',
    render: (i) => {
      const task = model.run?.tasks.get(order[i] ?? '');
      if (!task) return h('div', { class: 'row' });
      return h(
        'div',
        {
          class: `row${model.selectedTask === task.id ? ' selected' : ''}`,
          'data-task-row': task.id,
          'data-status': task.status,
          onclick: () => select(task.id),
        },
        h('span', { class: 'c-id' }, task.id),
        h('span', { class: 'c-agent' }, task.agent),
        h('span', { class: `c-status status-${task.status}` }, task.status),
        h('span', { class: 'c-attempts' }, String(task.attempts)),
        h('span', { class: 'c-time' }, formatDuration(task.startedAt, task.finishedAt)),
        h('span', { class: 'c-output' }, task.error ?? task.output ?? task.progressMessage ?? ''),
      );
    },
  });
  const root = h(
    'section',
    { class: 'panel run', 'data-testid': 'run-panel' },
    header,
    dagHost,
    h(
      'div',
      { class: 'table-head' },
      ...['task', 'agent', 'status', 'attempts', 'time', 'output'].map((t) => h('span', {}, t)),
    ),
    table.element,
    detail,
    extra,
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
          'No run selected. Live runs open by themselves; stored runs are listed on the left.',
        ),
      );
      return;
    }
    const live = run.source === 'live' ? model.runActor(run.detail.workflowId) : undefined;
    const state = live?.run?.state ?? run.detail.state;
    const counts = new Map<TaskStatusName, number>();
    for (const task of run.tasks.values())
      counts.set(task.status, (counts.get(task.status) ?? 0) + 1);
    const canControl = model.controls && live !== undefined;
    const button = (action: ControlAction, label: string, enabled: boolean) =>
      h(
        'button',
        {
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
        {},
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
        { class: 'muted' },
        run.detail.workflowId,
        run.detail.startedAt ? ` · started ${formatTime(run.detail.startedAt)}` : '',
      ),
      run.detail.error ? h('p', { class: 'error' }, run.detail.error) : null,
      h(
        'div',
        { class: 'counts' },
        ...STATUSES.filter((s) => counts.get(s)).map((s) =>
          h('span', { class: `count status-${s}`, 'data-count': s }, `${s} ${counts.get(s)}`),
        ),
      ),
      canControl
        ? h(
            'div',
            { class: 'controls', 'data-testid': 'controls' },
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

  const drawDetail = () => {
    const task = model.selectedTask ? model.run?.tasks.get(model.selectedTask) : undefined;
    if (!task) {
      fill(detail, h('p', { class: 'muted' }, 'Select a task for its details.'));
      return;
    }
    fill(detail, ...taskDetail(task));
  };

  const drawExtra = () => {
    const run = model.run;
    if (!run || run.source === 'live') {
      fill(extra);
      return;
    }
    fill(
      extra,
      h('h3', {}, 'Checkpoints'),
      run.checkpoints.length === 0
        ? h('p', { class: 'muted' }, 'No checkpoints stored for this run.')
        : h(
            'div',
            { class: 'checkpoints' },
            ...run.checkpoints.map((seq) =>
              h(
                'button',
                {
                  class: 'checkpoint',
                  'data-seq': seq,
                  onclick: () => actions.openCheckpoint(run.detail.workflowId, seq),
                },
                `#${seq}`,
              ),
            ),
          ),
      run.raw === undefined ? null : h('pre', { class: 'json' }, JSON.stringify(run.raw, null, 2)),
    );
  };

  const redrawRun = perFrame(() => {
    const run = model.run;
    if (run !== shownRun) {
      shownRun = run;
      order = run ? [...run.tasks.keys()] : [];
      dag = run ? createDagView(run, select) : undefined;
      fill(dagHost, dag?.element);
      run?.changed.clear();
      model.selectedTask = undefined;
      drawExtra();
    } else if (run && dag) {
      dag.update(run, run.changed);
      run.changed.clear();
    }
    drawHeader();
    drawDetail();
    table.update(order.length);
  });
  model.on('run', () => {
    shownRun = undefined;
    redrawRun();
  });
  model.on('run.tasks', redrawRun);
  model.on('actors', redrawRun);
  model.on('status', redrawRun);
  redrawRun();
  return root;
}

function taskDetail(task: TaskView): (HTMLElement | null)[] {
  const row = (label: string, value: string | undefined) =>
    value
      ? h(
          'div',
          { class: 'kv' },
          h('span', { class: 'k' }, label),
          h('span', { class: 'v' }, value),
        )
      : null;
  return [
    h('h3', {}, task.id),
    ...[
      row('agent', task.agent),
      row('status', task.status),
      row('attempts', String(task.attempts)),
      row('depends on', task.dependsOn.join(', ') || '—'),
      row('started', formatTime(task.startedAt)),
      row('finished', formatTime(task.finishedAt)),
      row('duration', formatDuration(task.startedAt, task.finishedAt)),
      row(
        'progress',
        task.progress === undefined
          ? undefined
          : `${Math.round(task.progress * 100)}% ${task.progressMessage ?? ''}`,
      ),
      row('skipped', task.skipReason),
      row('description', task.description),
    ],
    task.output === undefined
      ? null
      : h('pre', { class: 'output', 'data-testid': 'task-output' }, task.output),
    task.error === undefined ? null : h('pre', { class: 'error' }, task.error),
  ];
}
