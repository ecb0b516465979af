/**
 * Runs too big for a graph even after fan-outs are grouped: one cell per
 * task in definition order on a canvas, with pan and zoom (d3-zoom); from
 * a readable zoom on, each cell carries its status symbol too. Arrow keys
 * move a cursor over the cells, Enter opens the task under it.
 */
import { select } from 'd3-selection';
import { type ZoomTransform, zoom, zoomIdentity } from 'd3-zoom';
import type { TaskView } from '../../src/runtime/inspector/protocol.js';
import { h } from './dom.js';
import { type ShownStatus, STATUS_LOOKS, shownStatus } from './status.js';

const CELL = 10;
const COLUMNS = 100;

export const STATUS_FILL: Record<ShownStatus, string> = {
  pending: '#c3c9d0',
  running: '#1f6fd6',
  retrying: '#c25e00',
  waiting: '#7b4fc9',
  completed: '#1e8a4c',
  failed: '#c62828',
  skipped: '#8c959f',
  cancelled: '#6d4c41',
  compensating: '#a4508b',
  compensated: '#a4508b',
  compensation_failed: '#8e0000',
};

export interface DagGrid {
  element: HTMLElement;
  update(taskIds: Iterable<string>): void;
  reveal(taskId: string): boolean;
  fit(): void;
  toolbar: HTMLElement;
}

export function dagGrid(
  order: string[],
  tasks: Map<string, TaskView>,
  open: (taskId: string) => void,
): DagGrid {
  const position = new Map(order.map((id, i) => [id, i]));
  const canvas = h('canvas', {
    class: 'dag-grid',
    'data-testid': 'dag-grid',
    tabindex: 0,
    role: 'grid',
    'aria-label': `${order.length} tasks, one cell each in definition order; arrow keys move, Enter opens`,
  });
  const live = h('p', { class: 'sr-only', 'aria-live': 'polite' });
  const element = h('div', { class: 'dag-canvas' }, canvas, live);
  const rows = Math.ceil(order.length / COLUMNS);
  let transform: ZoomTransform = zoomIdentity;
  let cursor = -1;
  const ctx = canvas.getContext('2d');
  let scheduled = false;
  const draw = () => {
    scheduled = false;
    if (!ctx) return;
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth;
    const hgt = canvas.clientHeight;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(hgt * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(hgt * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, hgt);
    ctx.setTransform(
      dpr * transform.k,
      0,
      0,
      dpr * transform.k,
      dpr * transform.x,
      dpr * transform.y,
    );
    const symbols = transform.k * CELL >= 14;
    ctx.font = `${CELL * 0.8}px system-ui`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    for (let i = 0; i < order.length; i++) {
      const task = tasks.get(order[i]!);
      const status = task ? shownStatus(task) : 'pending';
      const x = (i % COLUMNS) * CELL;
      const y = Math.floor(i / COLUMNS) * CELL;
      ctx.fillStyle = STATUS_FILL[status];
      ctx.fillRect(x, y, CELL - 1, CELL - 1);
      if (symbols) {
        ctx.fillStyle = '#fff';
        ctx.fillText(STATUS_LOOKS[status].symbol, x + (CELL - 1) / 2, y + (CELL - 1) / 2);
      }
    }
    if (cursor >= 0) {
      ctx.strokeStyle = '#111';
      ctx.lineWidth = 2 / transform.k;
      ctx.strokeRect(
        (cursor % COLUMNS) * CELL - 1,
        Math.floor(cursor / COLUMNS) * CELL - 1,
        CELL + 1,
        CELL + 1,
      );
    }
  };
  const redraw = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(draw);
  };
  const behaviour = zoom<HTMLCanvasElement, unknown>()
    .scaleExtent([0.2, 8])
    .on('zoom', (event: { transform: ZoomTransform }) => {
      transform = event.transform;
      redraw();
    });
  const selection = select(canvas);
  selection.call(behaviour);
  const fit = () => {
    const w = canvas.clientWidth || 600;
    const hgt = canvas.clientHeight || 400;
    const k = Math.min(4, (w - 16) / (COLUMNS * CELL), (hgt - 16) / (rows * CELL));
    selection.call(behaviour.transform, zoomIdentity.translate(8, 8).scale(Math.max(0.2, k)));
  };
  const taskAt = (event: MouseEvent) => {
    const rect = canvas.getBoundingClientRect();
    const [gx, gy] = transform.invert([event.clientX - rect.left, event.clientY - rect.top]);
    const col = Math.floor(gx / CELL);
    const row = Math.floor(gy / CELL);
    if (col < 0 || col >= COLUMNS || row < 0) return undefined;
    return order[row * COLUMNS + col];
  };
  canvas.addEventListener('click', (event) => {
    const id = taskAt(event);
    if (id) open(id);
  });
  canvas.addEventListener('mousemove', (event) => {
    const id = taskAt(event);
    const task = id ? tasks.get(id) : undefined;
    canvas.title = task ? `${task.id}: ${STATUS_LOOKS[shownStatus(task)].label}` : '';
  });
  canvas.addEventListener('keydown', (event) => {
    const moves: Record<string, number> = {
      ArrowRight: 1,
      ArrowLeft: -1,
      ArrowDown: COLUMNS,
      ArrowUp: -COLUMNS,
    };
    const move = moves[event.key];
    if (move !== undefined) {
      event.preventDefault();
      cursor = Math.min(order.length - 1, Math.max(0, cursor < 0 ? 0 : cursor + move));
      const task = tasks.get(order[cursor]!);
      live.textContent = task ? `${task.id}: ${STATUS_LOOKS[shownStatus(task)].label}` : '';
      redraw();
    } else if (event.key === 'Enter' && cursor >= 0) {
      open(order[cursor]!);
    }
  });
  new ResizeObserver(redraw).observe(canvas);
  requestAnimationFrame(fit);
  return {
    element,
    toolbar: h(
      'div',
      { class: 'zoom-tools', role: 'toolbar', 'aria-label': 'Zoom' },
      h('button', { type: 'button', 'data-zoom': 'fit', onclick: fit }, 'Fit'),
      h(
        'button',
        {
          type: 'button',
          'data-zoom': 'in',
          'aria-label': 'Zoom in',
          onclick: () => selection.call(behaviour.scaleBy, 1.5),
        },
        '+',
      ),
      h(
        'button',
        {
          type: 'button',
          'data-zoom': 'out',
          'aria-label': 'Zoom out',
          onclick: () => selection.call(behaviour.scaleBy, 1 / 1.5),
        },
        '−',
      ),
    ),
    update() {
      redraw();
    },
    reveal(taskId) {
      const i = position.get(taskId);
      if (i === undefined) return false;
      cursor = i;
      const k = Math.max(transform.k, 2);
      const x = (i % COLUMNS) * CELL;
      const y = Math.floor(i / COLUMNS) * CELL;
      selection.call(
        behaviour.transform,
        zoomIdentity
          .translate(canvas.clientWidth / 2 - x * k, canvas.clientHeight / 2 - y * k)
          .scale(k),
      );
      return true;
    },
    fit,
  };
}
