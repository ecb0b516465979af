/** Runs from the store, newest first; opening one shows it read-only with its checkpoints. */
import { fill, formatTime, h, perFrame } from './dom.js';
import type { Model } from './model.js';

export function storedRuns(
  model: Model,
  actions: { refresh: () => void; open: (workflowId: string) => void },
): HTMLElement {
  const body = h('ul', { class: 'stored-list', 'data-testid': 'stored-runs' });
  const draw = perFrame(() => {
    const runs = model.storedRuns;
    if (!runs) {
      fill(body, h('li', { class: 'muted' }, 'Loading…'));
      return;
    }
    if (runs.length === 0) {
      fill(body, h('li', { class: 'muted' }, 'No stored runs.'));
      return;
    }
    fill(
      body,
      ...runs.map((run) =>
        h(
          'li',
          {},
          h(
            'button',
            {
              class: 'stored',
              'data-workflow-id': run.workflowId,
              onclick: () => actions.open(run.workflowId),
            },
            h('span', { class: 'run-name' }, run.name),
            h('span', { class: `badge state-${run.status}` }, run.status),
            h('span', { class: 'muted' }, `${run.tasks} tasks · ${formatTime(run.updatedAt)}`),
            // Only on PostgreSQL: who runs it (as `troupe list` shows it).
            run.owner === undefined
              ? null
              : h('span', { class: 'muted', 'data-testid': 'run-owner' }, `owner ${run.owner}`),
          ),
        ),
      ),
    );
  });
  model.on('stored', draw);
  draw();
  return h(
    'section',
    { class: 'panel stored-runs', 'aria-label': 'Stored runs' },
    h(
      'div',
      { class: 'panel-head' },
      h('h2', {}, 'Stored runs'),
      h('button', { onclick: actions.refresh, 'data-testid': 'refresh-stored' }, 'Refresh'),
    ),
    body,
  );
}
