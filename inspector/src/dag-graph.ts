/**
 * The DAG as an SVG graph laid out by elkjs (in its worker), filling the
 * space it is given, with pan and zoom (d3-zoom), fit-to-view and a minimap
 * for large graphs. Each node is a box sized to its label, with a symbol
 * and a word for its status; a group node (a collapsed fan-out) shows its
 * members' counts per status. Nodes are buttons: click, Enter or Space.
 */
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { TaskView } from '../../src/runtime/inspector/protocol.js';
import type { DagNode, DagShape } from './dag-groups.js';
import { quickLayout } from './dag-quick-layout.js';
import { formatDuration, h, svg } from './dom.js';
import { layoutDag } from './layout.js';
import { type ShownStatus, STATUS_LOOKS, shownStatus, statusText } from './status.js';
import { type PanZoom, panZoom } from './zoom.js';

const NODE_H = 44;
const MIN_W = 118;
const MAX_W = 250;
const PAD_X = 10;
/** Graphs with more nodes than this get a minimap, shown while part of the graph is out of view. */
const MINIMAP_FROM = 16;
/**
 * Runs with this many tasks are drawn at once from the quick layout and
 * moved to elk's when it answers. Smaller runs arrive and lay out fast, so
 * their first drawing is elk's and nothing moves under the pointer.
 */
export const QUICK_FIRST_FROM = 1_000;

export interface GraphActions {
  /** A task node was activated. */
  open(taskId: string): void;
  /** A group node was activated: expand it. */
  expand(key: string): void;
}

export interface DagGraph {
  element: HTMLElement;
  /** Repaints the nodes holding these tasks. */
  update(taskIds: Iterable<string>): void;
  /** Centres the view on a task's node and gives it focus. */
  reveal(taskId: string): boolean;
  /** Marks nodes whose label or members contain `query` (empty clears); returns the matching node ids. */
  highlight(query: string): string[];
  zoom: PanZoom | undefined;
  toolbar: HTMLElement;
}

let measureCtx: CanvasRenderingContext2D | null | undefined;

/** The width of a label in the node font, for boxes that fit their text. */
function textWidth(text: string, font: string): number {
  measureCtx ??= document.createElement('canvas').getContext('2d');
  if (!measureCtx) return text.length * 7.5;
  measureCtx.font = font;
  return measureCtx.measureText(text).width;
}

const ID_FONT = '600 12px system-ui, -apple-system, "Segoe UI", sans-serif';

function fitLabel(text: string, max: number): string {
  if (textWidth(text, ID_FONT) <= max) return text;
  let lo = 1;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (textWidth(`${text.slice(0, mid)}…`, ID_FONT) <= max) lo = mid;
    else hi = mid - 1;
  }
  return `${text.slice(0, lo)}…`;
}

export function dagGraph(
  shape: DagShape,
  tasks: Map<string, TaskView>,
  actions: GraphActions,
): DagGraph {
  const toolbarHost = h('div', { class: 'zoom-host' });
  const canvas = h('div', { class: 'dag-canvas' }, h('p', { class: 'muted pad' }, 'Laying out…'));
  const element = h('div', { class: 'dag-graph' }, canvas);
  const nodeEls = new Map<string, SVGGElement>();
  const miniEls = new Map<string, SVGRectElement>();
  const byId = new Map(shape.nodes.map((n) => [n.id, n]));
  const centres = new Map<string, { x: number; y: number }>();
  const labels = new Map<string, string>();
  const widths = new Map<string, number>();
  for (const node of shape.nodes) {
    const label = fitLabel(node.label, MAX_W - 2 * PAD_X);
    labels.set(node.id, label);
    const meta = node.group
      ? `${node.members.length} tasks · ✓ 0000 ▶ 000`
      : '↻ retrying ×10 00.00 s';
    widths.set(
      node.id,
      Math.ceil(
        Math.min(
          MAX_W,
          Math.max(MIN_W, textWidth(label, ID_FONT) + 2 * PAD_X, meta.length * 6.4 + 2 * PAD_X),
        ),
      ),
    );
  }
  const edges: ElkExtendedEdge[] = [];
  for (const node of shape.nodes) {
    for (const dep of node.dependsOn)
      edges.push({ id: `${dep}->${node.id}`, sources: [dep], targets: [node.id] });
  }
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.layered.spacing.nodeNodeBetweenLayers': '48',
      'elk.spacing.nodeNode': '16',
      'elk.padding': '[top=12,left=12,bottom=12,right=12]',
    },
    children: shape.nodes.map((n) => ({ id: n.id, width: widths.get(n.id)!, height: NODE_H })),
    edges,
  };
  let laidOut = false;
  const pending = new Set<string>();
  const api: DagGraph = {
    element,
    zoom: undefined,
    toolbar: toolbarHost,
    update(taskIds) {
      // Each node once: a group of 10,000 tasks that all changed is painted once, not 10,000 times.
      const nodes = new Set<string>();
      for (const id of taskIds) {
        const nodeId = shape.nodeOf.get(id);
        if (nodeId !== undefined) nodes.add(nodeId);
      }
      for (const nodeId of nodes) {
        if (laidOut) paintNode(nodeId);
        else pending.add(nodeId);
      }
    },
    reveal(taskId) {
      const nodeId = shape.nodeOf.get(taskId);
      const centre = nodeId === undefined ? undefined : centres.get(nodeId);
      if (!nodeId || !centre) return false;
      api.zoom?.focus(centre.x, centre.y, READABLE);
      for (const el of nodeEls.values())
        el.classList.toggle('selected', el === nodeEls.get(nodeId));
      return true;
    },
    highlight(query) {
      const q = query.trim().toLowerCase();
      const hits: string[] = [];
      for (const [id, el] of nodeEls) {
        const node = byId.get(id)!;
        const hit = q !== '' && node.members.some((m) => m.toLowerCase().includes(q));
        el.classList.toggle('match', hit);
        if (hit) hits.push(id);
      }
      return hits;
    },
  };

  const paintNode = (nodeId: string) => {
    const g = nodeEls.get(nodeId);
    const node = byId.get(nodeId);
    if (!g || !node) return;
    // A group's members are counted once per paint (a 10,000-task group is painted once a frame).
    const counts = node.group ? countsOf(node, tasks) : undefined;
    const status = counts
      ? groupStatus(node, counts)
      : shownStatus(tasks.get(node.id) ?? { status: 'pending' });
    if (g.dataset.status !== status) g.dataset.status = status;
    if (autoFocus && urgencyOf(status) < autoFocus.urgency) follow(nodeId);
    const meta = counts ? groupMeta(node, counts) : taskMeta(tasks.get(node.id));
    const metaEl = g.querySelector('text.task-meta');
    if (metaEl && metaEl.textContent !== meta) metaEl.textContent = meta;
    // No aria-label: the name comes from the <title> (which starts with the
    // visible text), so what is read is what is shown.
    const title = g.querySelector('title');
    if (title)
      title.textContent = node.group
        ? `${node.label} (${node.members.length} tasks)\n${meta}`
        : `${node.id}\n${meta}`;
    miniEls.get(nodeId)?.setAttribute('data-status', status);
  };

  // One element per node, made once: a second layout (elk's, after the quick
  // one) moves them, so focus, selection and search marks stay where they are.
  const layer = svg('g', { class: 'viewport' });
  const edgeLayer = svg('g', { class: 'deps' });
  layer.append(edgeLayer);
  for (const node of shape.nodes) {
    const activate = () => (node.group ? actions.expand(node.key!) : actions.open(node.id));
    const g = svg(
      'g',
      {
        class: node.group ? 'task group' : 'task',
        'data-task-id': node.group ? undefined : node.id,
        'data-group': node.group ? node.label : undefined,
        role: 'button',
        tabindex: 0,
        onclick: activate,
        onkeydown: (event: Event) => {
          const key = (event as KeyboardEvent).key;
          if (key === 'Enter' || key === ' ') {
            event.preventDefault();
            activate();
          }
        },
      },
      svg('title', {}, node.label),
      svg('rect', { rx: 7, height: NODE_H, class: 'box' }),
      node.group ? svg('rect', { rx: 5, height: NODE_H - 8, class: 'stack' }) : null,
      svg('text', { class: 'task-id' }, labels.get(node.id) ?? node.label),
      svg('text', { class: 'task-meta' }, ''),
    );
    nodeEls.set(node.id, g);
    layer.append(g);
  }
  let width = 0;
  let height = 0;
  const svgEl = svg(
    'svg',
    {
      class: 'dag-svg',
      role: 'group',
      'aria-label': 'Task graph: drag to pan, scroll or pinch to zoom',
    },
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
    layer,
  );
  const minimap = shape.nodes.length >= MINIMAP_FROM ? miniMap(miniEls) : undefined;

  /** Puts every node and edge where `laid` says; `by` names the layout (`data-layout` on the SVG). */
  const place = (laid: ElkNode, by: 'quick' | 'elk') => {
    svgEl.dataset.layout = by;
    const paths: SVGPathElement[] = [];
    for (const edge of laid.edges ?? []) {
      for (const s of edge.sections ?? []) {
        const points = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint];
        paths.push(
          svg('path', {
            class: 'dep',
            d: points.map((p, i) => `${i ? 'L' : 'M'}${p.x},${p.y}`).join(' '),
            'marker-end': 'url(#dag-arrow)',
          }),
        );
      }
    }
    edgeLayer.replaceChildren(...paths);
    for (const child of laid.children ?? []) {
      const g = nodeEls.get(child.id);
      if (!g) continue;
      const x = child.x ?? 0;
      const y = child.y ?? 0;
      const w = child.width ?? MIN_W;
      centres.set(child.id, { x: x + w / 2, y: y + NODE_H / 2 });
      const [box, second] = g.querySelectorAll('rect');
      box?.setAttribute('x', String(x));
      box?.setAttribute('y', String(y));
      box?.setAttribute('width', String(w));
      if (second) {
        second.setAttribute('x', String(x + 4));
        second.setAttribute('y', String(y + 4));
        second.setAttribute('width', String(w - 8));
      }
      const [id, meta] = g.querySelectorAll('text');
      for (const [text, dy] of [
        [id, 18],
        [meta, 35],
      ] as const) {
        text?.setAttribute('x', String(x + PAD_X));
        text?.setAttribute('y', String(y + dy));
      }
    }
    width = Math.ceil(laid.width ?? 200);
    height = Math.ceil(laid.height ?? 100);
    minimap?.place(laid, width, height);
  };

  let zoom: PanZoom | undefined;
  /** The transform the page chose itself (fit, or a readable part), to tell whether the user has moved since. */
  let autoTransform: string | undefined;
  /** The node the automatic view shows at a readable size, when it could not fit the whole graph. */
  let autoFocus: { node: string | undefined; urgency: number } | undefined;
  const focusOn = (view: PanZoom, node: string | undefined) => {
    const centre = node === undefined ? undefined : centres.get(node);
    if (centre) view.focus(centre.x, centre.y, READABLE);
    const status = node === undefined ? undefined : nodeEls.get(node)?.dataset.status;
    autoFocus = { node, urgency: status === undefined ? URGENT.length : urgencyOf(status) };
    autoTransform = view.transform().toString();
  };
  // Fit once the element has its size (it may have just been attached);
  // if that makes labels too small to read, show the part that matters
  // most at a readable size instead (the minimap shows the rest).
  const autoView = (view: PanZoom) => {
    view.fit();
    autoFocus = undefined;
    autoTransform = view.transform().toString();
    if (view.transform().k < READABLE)
      focusOn(view, urgentNode(shape.nodes, tasks) ?? shape.nodes[0]?.id);
  };
  /**
   * A node became more urgent than the one the automatic view shows (a
   * failure while a task runs elsewhere): show it, unless the user has moved
   * the view since.
   */
  const follow = (nodeId: string) => {
    const view = zoom;
    if (!view || view.transform().toString() !== autoTransform) {
      autoFocus = undefined;
      return;
    }
    focusOn(view, nodeId);
  };
  /** The graph moved or its frame changed size: a fitted view is fitted again, an automatic one redone. */
  const keepView = (view: PanZoom) => {
    if (view.fitted()) view.fit();
    else if (view.transform().toString() === autoTransform) autoView(view);
  };
  const show = (laid: ElkNode, by: 'quick' | 'elk') => {
    place(laid, by);
    canvas.replaceChildren(svgEl, ...(minimap ? [minimap.element] : []));
    const view = panZoom(
      svgEl,
      layer,
      () => ({ width, height }),
      (t) => minimap?.view(t, svgEl),
    );
    zoom = view;
    api.zoom = view;
    minimap?.onPick((x, y) => view.centre(x, y));
    toolbarHost.replaceChildren(view.toolbar);
    laidOut = true;
    for (const id of nodeEls.keys()) paintNode(id);
    pending.clear();
    requestAnimationFrame(() => autoView(view));
    // A window resized or turned (a phone), or a panel opened or closed beside the graph.
    let frame = '';
    const resized = new ResizeObserver(() => {
      if (!svgEl.isConnected) return resized.disconnect();
      const size = `${svgEl.clientWidth}x${svgEl.clientHeight}`;
      if (svgEl.clientWidth === 0 || size === frame) return;
      const first = frame === '';
      frame = size;
      if (first) return;
      keepView(view);
      minimap?.view(view.transform(), svgEl);
    });
    resized.observe(svgEl);
  };
  /** Elk's layout after the quick one: the same elements move; a view the user chose is kept. */
  const refine = (laid: ElkNode) => {
    const view = zoom;
    place(laid, 'elk');
    if (!view) return;
    keepView(view);
    minimap?.view(view.transform(), svgEl);
  };

  const quick = quickLayout(
    shape.nodes.map((n) => ({
      id: n.id,
      dependsOn: n.dependsOn,
      width: widths.get(n.id)!,
      height: NODE_H,
    })),
  );
  if (quick.final) show(quick.laid, 'quick');
  else if (tasks.size >= QUICK_FIRST_FROM) {
    show(quick.laid, 'quick');
    // Elk failing leaves the quick layout, which shows every node and edge.
    layoutDag(graph).then(refine, () => undefined);
  } else
    layoutDag(graph).then(
      (laid) => show(laid, 'elk'),
      (error: unknown) =>
        canvas.replaceChildren(h('p', { class: 'error' }, `Layout failed: ${String(error)}`)),
    );
  return api;
}

/** Below this scale node labels are too small to read. */
const READABLE = 0.75;

/** Marks a person looks for first, most urgent first: a failure, then a retry, then work under way. */
const URGENT: readonly string[] = ['failed', 'retrying', 'running'];

/** A mark's place in {@link URGENT}; marks not in it come after all. */
function urgencyOf(status: string): number {
  const index = URGENT.indexOf(status);
  return index < 0 ? URGENT.length : index;
}

/** The node a person looks for first: a failure, else a retry, else work under way. */
function urgentNode(nodes: DagNode[], tasks: Map<string, TaskView>): string | undefined {
  for (const wanted of URGENT) {
    const node = nodes.find((n) => n.members.some((id) => tasks.get(id)?.status === wanted));
    if (node) return node.id;
  }
  return undefined;
}

function taskMeta(task: TaskView | undefined): string {
  if (!task) return '';
  const status = shownStatus(task);
  const attempts = task.attempts > 1 ? ` ×${task.attempts}` : '';
  const time = formatDuration(task.startedAt, task.finishedAt);
  return `${statusText(status)}${attempts}${time ? ` ${time}` : ''}`;
}

const GROUP_ORDER: ShownStatus[] = [
  'failed',
  'compensation_failed',
  'retrying',
  'waiting',
  'running',
  'compensating',
  'compensated',
  'completed',
  'cancelled',
  'skipped',
  'pending',
];

function countsOf(node: DagNode, tasks: Map<string, TaskView>): Map<ShownStatus, number> {
  const counts = new Map<ShownStatus, number>();
  for (const id of node.members) {
    const task = tasks.get(id);
    const s = task ? shownStatus(task) : 'pending';
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  return counts;
}

/** A group shows its most urgent status: a failure before a retry before work under way. */
function groupStatus(node: DagNode, counts: Map<ShownStatus, number>): ShownStatus {
  const urgent = GROUP_ORDER.find((s) => counts.has(s) && s !== 'completed' && s !== 'pending');
  if (urgent) return urgent;
  return counts.get('completed') === node.members.length
    ? 'completed'
    : counts.has('completed')
      ? 'running'
      : 'pending';
}

function groupMeta(node: DagNode, counts: Map<ShownStatus, number>): string {
  const parts = GROUP_ORDER.filter((s) => counts.has(s)).map(
    (s) => `${STATUS_LOOKS[s].symbol}${counts.get(s)}`,
  );
  return `${node.members.length} tasks · ${parts.join(' ')}`;
}

interface MiniMap {
  element: HTMLElement;
  /** Draws the nodes where `laid` puts them. */
  place(laid: ElkNode, width: number, height: number): void;
  view(t: { x: number; y: number; k: number }, svgEl: SVGSVGElement): void;
  onPick(pick: (x: number, y: number) => void): void;
}

function miniMap(els: Map<string, SVGRectElement>): MiniMap {
  let width = 1;
  let height = 1;
  const viewRect = svg('rect', { class: 'mini-view', x: 0, y: 0 });
  const map = svg('svg', { preserveAspectRatio: 'xMidYMid meet', 'aria-hidden': 'true' });
  const element = h(
    'div',
    { class: 'minimap', 'data-testid': 'minimap', title: 'Minimap: click to move the view' },
    map,
  );
  let pick: (x: number, y: number) => void = () => undefined;
  const toGraph = (event: MouseEvent) => {
    const box = map.getBoundingClientRect();
    const k = Math.min(box.width / width, box.height / height);
    const ox = (box.width - width * k) / 2;
    const oy = (box.height - height * k) / 2;
    return { x: (event.clientX - box.left - ox) / k, y: (event.clientY - box.top - oy) / k };
  };
  let dragging = false;
  map.addEventListener('pointerdown', (event) => {
    dragging = true;
    const p = toGraph(event);
    pick(p.x, p.y);
  });
  map.addEventListener('pointermove', (event) => {
    if (!dragging) return;
    const p = toGraph(event);
    pick(p.x, p.y);
  });
  window.addEventListener('pointerup', () => {
    dragging = false;
  });
  return {
    element,
    place(laid, w, hgt) {
      width = w;
      height = hgt;
      const rects: SVGElement[] = [];
      for (const child of laid.children ?? []) {
        const r = svg('rect', {
          x: child.x ?? 0,
          y: child.y ?? 0,
          width: child.width ?? 0,
          height: child.height ?? 0,
          class: 'mini-node',
          'data-status': els.get(child.id)?.getAttribute('data-status') ?? undefined,
        });
        els.set(child.id, r);
        rects.push(r);
      }
      map.setAttribute('viewBox', `0 0 ${width} ${height}`);
      map.replaceChildren(...rects, viewRect);
    },
    view(t, svgEl) {
      const w = svgEl.clientWidth;
      const hgt = svgEl.clientHeight;
      // Nothing to find while the whole graph is in view: the minimap would only cover part of it.
      element.hidden =
        t.x >= -1 && t.y >= -1 && t.x + width * t.k <= w + 1 && t.y + height * t.k <= hgt + 1;
      viewRect.setAttribute('x', String(-t.x / t.k));
      viewRect.setAttribute('y', String(-t.y / t.k));
      viewRect.setAttribute('width', String(w / t.k));
      viewRect.setAttribute('height', String(hgt / t.k));
    },
    onPick(fn) {
      pick = fn;
    },
  };
}
