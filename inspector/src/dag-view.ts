/**
 * A run's tasks as a DAG coloured by status. Up to {@link SVG_LIMIT} tasks
 * it is laid out by elkjs and drawn as SVG (one `g.task` per task, its
 * `data-status` moved on each change). Bigger runs are drawn on a canvas
 * as a grid of cells in definition order: a 10,000-node SVG graph would
 * take seconds to lay out and would make every frame slow.
 */
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { TaskStatusName, TaskView } from '../../src/runtime/inspector/protocol.js';
import { h, svg } from './dom.js';
import { elk } from './layout.js';
import type { RunState } from './model.js';

export const SVG_LIMIT = 300;

export const STATUS_COLOURS: Record<TaskStatusName, string> = {
  pending: '#9aa3ad',
  running: '#2f80ed',
  retrying: '#f2994a',
  completed: '#27ae60',
  failed: '#eb5757',
  skipped: '#bdbdbd',
  cancelled: '#6d4c41',
};

export interface DagView {
  element: HTMLElement;
  /** Applies the run's changed tasks. */
  update(run: RunState, changed: Iterable<string>): void;
}

export function createDagView(run: RunState, select: (taskId: string) => void): DagView {
  return run.tasks.size <= SVG_LIMIT ? svgDag(run, select) : gridDag(run, select);
}

function svgDag(run: RunState, select: (taskId: string) => void): DagView {
  const element = h(
    'div',
    { class: 'dag', 'data-testid': 'dag' },
    h('p', { class: 'muted' }, 'Laying out…'),
  );
  const nodes = new Map<string, SVGGElement>();
  const tasks = [...run.tasks.values()];
  const ids = new Set(tasks.map((t) => t.id));
  const edges: ElkExtendedEdge[] = [];
  for (const task of tasks) {
    for (const dep of task.dependsOn) {
      if (ids.has(dep))
        edges.push({ id: `${dep}->${task.id}`, sources: [dep], targets: [task.id] });
    }
  }
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.layered.spacing.nodeNodeBetweenLayers': '50',
      'elk.spacing.nodeNode': '14',
      'elk.padding': '[top=10,left=10,bottom=10,right=10]',
    },
    children: tasks.map((t) => ({
      id: t.id,
      width: Math.max(90, t.id.length * 7 + 34),
      height: 40,
    })),
    edges,
  };
  let laidOut = false;
  const pending = new Set<string>();
  elk.layout(graph).then(
    (laid) => {
      const parts: SVGElement[] = [];
      for (const edge of laid.edges ?? []) {
        for (const s of edge.sections ?? []) {
          const points = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint];
          parts.push(
            svg('path', {
              class: 'dep',
              d: points.map((p, i) => `${i ? 'L' : 'M'}${p.x},${p.y}`).join(' '),
              'marker-end': 'url(#dag-arrow)',
            }),
          );
        }
      }
      for (const child of laid.children ?? []) {
        const task = run.tasks.get(child.id);
        if (!task) continue;
        const g = taskNode(child, task, select);
        nodes.set(task.id, g);
        parts.push(g);
      }
      const width = Math.ceil(laid.width ?? 200);
      const height = Math.ceil(laid.height ?? 100);
      element.replaceChildren(
        svg(
          'svg',
          { viewBox: `0 0 ${width} ${height}`, width, height, class: 'dag-svg' },
          svg(
            'defs',
            {},
            svg(
              'marker',
              {
                id: 'dag-arrow',
                viewBox: '0 0 10 10',
                refX: 9,
                refY: 5,
                markerWidth: 6,
                markerHeight: 6,
                orient: 'auto',
              },
              svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head' }),
            ),
          ),
          ...parts,
        ),
      );
      laidOut = true;
      for (const id of pending) paint(nodes.get(id), run.tasks.get(id));
      pending.clear();
    },
    (error: unknown) =>
      element.replaceChildren(h('p', { class: 'error' }, `Layout failed: ${String(error)}`)),
  );
  return {
    element,
    update(current, changed) {
      for (const id of changed) {
        if (laidOut) paint(nodes.get(id), current.tasks.get(id));
        else pending.add(id);
      }
    },
  };
}

function taskNode(shape: ElkNode, task: TaskView, select: (taskId: string) => void): SVGGElement {
  const x = shape.x ?? 0;
  const y = shape.y ?? 0;
  const g = svg(
    'g',
    {
      class: 'task',
      'data-task-id': task.id,
      'data-status': task.status,
      tabindex: 0,
      onclick: () => select(task.id),
    },
    svg('rect', { x, y, width: shape.width ?? 0, height: shape.height ?? 0, rx: 6 }),
    svg('text', { x: x + 8, y: y + 16, class: 'task-id' }, task.id),
    svg('text', { x: x + 8, y: y + 31, class: 'task-meta' }, meta(task)),
    svg('title', {}, `${task.id} (${task.agent}): ${task.status}`),
  );
  return g;
}

function paint(g: SVGGElement | undefined, task: TaskView | undefined): void {
  if (!g || !task) return;
  g.dataset.status = task.status;
  const metaText = g.querySelector('text.task-meta');
  if (metaText) metaText.textContent = meta(task);
  const title = g.querySelector('title');
  if (title) title.textContent = `${task.id} (${task.agent}): ${task.status}`;
}

function meta(task: TaskView): string {
  const attempts = task.attempts > 1 ? ` ×${task.attempts}` : '';
  const time =
    task.startedAt !== undefined && task.finishedAt !== undefined
      ? ` ${Math.round(task.finishedAt - task.startedAt)}ms`
      : '';
  return `${task.status}${attempts}${time}`;
}

const CELL = 9;

function gridDag(run: RunState, select: (taskId: string) => void): DagView {
  const order = [...run.tasks.keys()];
  const position = new Map(order.map((id, i) => [id, i]));
  const canvas = h('canvas', { class: 'dag-grid', 'data-testid': 'dag-grid' });
  const note = h(
    'p',
    { class: 'muted' },
    `${order.length} tasks: one cell per task in definition order (the graph is drawn for runs up to ${SVG_LIMIT} tasks).`,
  );
  const element = h('div', { class: 'dag', 'data-testid': 'dag' }, note, canvas);
  const columns = 100;
  canvas.width = columns * CELL;
  canvas.height = Math.ceil(order.length / columns) * CELL;
  const ctx = canvas.getContext('2d');
  const cell = (id: string) => {
    const i = position.get(id);
    const task = run.tasks.get(id);
    if (i === undefined || !task || !ctx) return;
    ctx.fillStyle = STATUS_COLOURS[task.status];
    ctx.fillRect((i % columns) * CELL, Math.floor(i / columns) * CELL, CELL - 1, CELL - 1);
  };
  for (const id of order) cell(id);
  canvas.addEventListener('click', (event) => {
    const rect = canvas.getBoundingClientRect();
    const x = Math.floor(((event.clientX - rect.left) * (canvas.width / rect.width)) / CELL);
    const y = Math.floor(((event.clientY - rect.top) * (canvas.height / rect.height)) / CELL);
    const id = order[y * columns + x];
    if (id) select(id);
  });
  return {
    element,
    update(current, changed) {
      run = current;
      for (const id of changed) cell(id);
    },
  };
}
