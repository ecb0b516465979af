/**
 * The run's DAG, the centre of the page: a toolbar (find a task by id,
 * expand or collapse fan-out groups, zoom and fit, the legend) over the
 * drawing, which takes all the height it is given. Up to {@link SVG_LIMIT}
 * nodes (after grouping) it is a graph; bigger runs are a zoomable grid.
 */
import { dagGraph } from './dag-graph.js';
import { dagGrid } from './dag-grid.js';
import { groupTasks } from './dag-groups.js';
import { fill, h } from './dom.js';
import type { RunState } from './model.js';
import { LEGEND_ORDER, STATUS_LOOKS } from './status.js';

export const SVG_LIMIT = 300;

export interface DagView {
  element: HTMLElement;
  /** Applies the run's changed tasks. */
  update(run: RunState, changed: Iterable<string>): void;
  /** Shows a task (expanding its group) and marks it selected. */
  reveal(taskId: string): void;
}

interface Drawing {
  element: HTMLElement;
  toolbar: HTMLElement;
  update(taskIds: Iterable<string>): void;
  reveal(taskId: string): boolean;
  highlight?(query: string): string[];
}

export function createDagView(run: RunState, open: (taskId: string) => void): DagView {
  const expanded = new Set<string>();
  const host = h('div', { class: 'dag-body' });
  const zoomHost = h('div', { class: 'zoom-slot' });
  const found = h('span', { class: 'found muted', 'aria-live': 'polite' });
  const search = h('input', {
    type: 'search',
    class: 'dag-search',
    placeholder: 'Find task id',
    'aria-label': 'Find a task by id',
    'data-testid': 'dag-search',
  });
  const groupToggle = h(
    'button',
    { type: 'button', class: 'group-toggle', 'data-testid': 'group-toggle' },
    '',
  );
  const element = h(
    'div',
    { class: 'dag', 'data-testid': 'dag', role: 'region', 'aria-label': 'Task graph' },
    h('div', { class: 'dag-toolbar' }, search, found, groupToggle, zoomHost, legend()),
    host,
  );
  let drawing: Drawing;
  let groupKeys: string[] = [];
  const build = () => {
    const shape = groupTasks(run.tasks.values(), expanded);
    groupKeys = shape.nodes.flatMap((n) => (n.group && n.key ? [n.key] : []));
    drawing =
      shape.nodes.length <= SVG_LIMIT
        ? dagGraph(shape, run.tasks, {
            open,
            expand: (key) => {
              expanded.add(key);
              build();
            },
          })
        : dagGrid([...run.tasks.keys()], run.tasks, open);
    fill(host, drawing.element);
    fill(zoomHost, drawing.toolbar);
    groupToggle.hidden = groupKeys.length === 0 && expanded.size === 0;
    groupToggle.textContent = groupKeys.length > 0 ? 'Expand groups' : 'Collapse groups';
  };
  groupToggle.addEventListener('click', () => {
    if (groupKeys.length > 0) for (const key of groupKeys) expanded.add(key);
    else expanded.clear();
    build();
  });
  search.addEventListener('input', () => {
    const q = search.value.trim();
    drawing.highlight?.(q);
    const lower = q.toLowerCase();
    const matches = q
      ? [...run.tasks.keys()].filter((id) => id.toLowerCase().includes(lower)).length
      : 0;
    found.textContent = q ? `${matches} found` : '';
  });
  search.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter') return;
    event.preventDefault();
    const q = search.value.trim().toLowerCase();
    const first = [...run.tasks.keys()].find((id) => id.toLowerCase().includes(q));
    if (first) {
      view.reveal(first);
      open(first);
    }
  });
  const view: DagView = {
    element,
    update(current, changed) {
      run = current;
      drawing.update(changed);
    },
    reveal(taskId) {
      if (drawing.reveal(taskId)) return;
      // In a collapsed group: expand the group, then show the task once laid out.
      const shape = groupTasks(run.tasks.values(), expanded);
      const nodeId = shape.nodeOf.get(taskId);
      const node = shape.nodes.find((n) => n.id === nodeId);
      if (node?.group && node.key) {
        expanded.add(node.key);
        build();
        const tryReveal = (tries: number) => {
          if (!drawing.reveal(taskId) && tries > 0) setTimeout(() => tryReveal(tries - 1), 50);
        };
        tryReveal(40);
      }
    },
  };
  build();
  return view;
}

function legend(): HTMLElement {
  return h(
    'details',
    { class: 'legend', 'data-testid': 'legend' },
    h('summary', {}, 'Legend'),
    h(
      'ul',
      { class: 'legend-list' },
      ...LEGEND_ORDER.map((status) =>
        h(
          'li',
          { 'data-status': status },
          h(
            'span',
            { class: `swatch swatch-${status}`, 'aria-hidden': 'true' },
            STATUS_LOOKS[status].symbol,
          ),
          h('strong', {}, STATUS_LOOKS[status].label),
          h('span', { class: 'muted' }, ` — ${STATUS_LOOKS[status].meaning}`),
        ),
      ),
      h(
        'li',
        {},
        h('span', { class: 'swatch group-swatch', 'aria-hidden': 'true' }, '▤'),
        h('strong', {}, 'group'),
        h(
          'span',
          { class: 'muted' },
          ' — a fan-out (fetch-1..fetch-40) drawn as one box; Enter or click expands it',
        ),
      ),
    ),
  );
}
